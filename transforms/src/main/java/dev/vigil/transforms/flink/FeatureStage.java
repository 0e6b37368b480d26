package dev.vigil.transforms.flink;

import dev.vigil.transforms.engine.EntityEngine;
import java.time.Duration;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

/**
 * One entity's features (keyed by its key): the values as of just before each event written into
 * the event's slots, then passed on.
 *
 * <p>State: {@link FeatureStates#features}, one value per key (TTL: the entity's longest window
 * plus its tail). In front of it, a write-behind cache of up to {@code cacheKeys} keys' values
 * (second-chance eviction, below): a hit costs no state access, so a busy key costs one state read per
 * checkpoint interval instead of a read and a write per event (on RocksDB, two native calls and a
 * copy of the whole value). Changed values go to the state backend when they leave the cache and
 * at every checkpoint barrier ({@link #prepareSnapshotPreBarrier}), before the backend is
 * snapshotted, so checkpoints and savepoints hold exactly what a write-through stage would; the
 * cache is then emptied, which also bounds how long a cached value outlives its TTL to one
 * checkpoint interval. {@code cacheKeys = 0}: write-through.
 *
 * <p>Eviction is second chance (CLOCK): a hit only sets the entry's {@code referenced} bit; the
 * oldest entry leaves unless its bit is set, in which case the bit is cleared and the entry goes
 * to the back. Close to least-recently-used, without an access-ordered map relinking its list on
 * every hit, which touched two more entries per event and cost a fifth of the stage's time ({@code
 * bench features}, 10,000 cards: 388k events/s with the access-ordered map, 477k without). The
 * cache is a {@link StateCache} (parallel arrays under an open-addressing index), not a map of
 * holder objects: a hit then touches the key and the value only.
 *
 * <p>Late policy: an event older than its key's newest by more than the longest window leaves the
 * state untouched, gets null values, is marked late, is copied to the {@link #lateTag late} side
 * output and counted in {@code vigil.features.<entity>.late}. An event with no key for this entity
 * passes with nulls (counted in {@code missing_key}).
 *
 * <p>Dedupe (when a horizon is given): {@link FeatureStates#dedupe} holds the key's transaction
 * ids of the horizon; an event whose id is there is a producer retry: marked {@code duplicate},
 * state untouched, null values, counted in {@code vigil.features.<entity>.duplicates}. It is done
 * here, per entity key, rather than by a {@code keyBy(transaction_id)} in front of the stages,
 * because such a shuffle would interleave each card's events from several subtasks and lose the
 * per-key order that makes streaming equal the offline backfill.
 */
public final class FeatureStage extends AbstractStreamOperator<FeatureEvent>
    implements OneInputStreamOperator<FeatureEvent, FeatureEvent> {
  private static final long serialVersionUID = 3L;

  /** Late events, as they left the stage. */
  public static OutputTag<FeatureEvent> lateTag(FeatureEventTypeInfo type) {
    return new OutputTag<>("late", type);
  }

  private final EntityEngine engine;
  private final int[] slots;
  private final OutputTag<FeatureEvent> late;
  /** Position of the transaction id in the record; -1 without dedupe. */
  private final int idPos;
  private final Duration dedupeHorizon;
  private final int cacheKeys;
  private transient ValueState<byte[]> state;
  private transient MapState<String, Long> seen;
  /** Null when write-through ({@code cacheKeys = 0}). */
  private transient StateCache cache;
  private transient Counter lateCounter;
  private transient Counter missingKey;
  private transient Counter duplicates;

  /** Write-through, no dedupe (operator tests of the state layout). */
  public FeatureStage(EntityEngine engine, int[] slots, OutputTag<FeatureEvent> late) {
    this(engine, slots, late, -1, null, 0);
  }

  /**
   * @param idPos the transaction id's field position for dedupe, -1 for none
   * @param dedupeHorizon how long an id is remembered (with {@code idPos >= 0})
   * @param cacheKeys keys kept in the write-behind cache, 0 for write-through
   */
  public FeatureStage(EntityEngine engine, int[] slots, OutputTag<FeatureEvent> late, int idPos,
      Duration dedupeHorizon, int cacheKeys) {
    if (cacheKeys < 0) {
      throw new IllegalArgumentException(FeatureOptions.CACHE_KEYS.key()
          + " must be 0 (no cache) or more, got " + cacheKeys);
    }
    this.engine = engine;
    this.slots = slots;
    this.late = late;
    this.idPos = idPos;
    this.dedupeHorizon = dedupeHorizon;
    this.cacheKeys = cacheKeys;
  }

  @Override
  public void open() throws Exception {
    super.open();
    state = getRuntimeContext().getState(FeatureStates.features(engine));
    if (idPos >= 0) {
      seen = getRuntimeContext().getMapState(FeatureStates.dedupe(dedupeHorizon));
    }
    cache = cacheKeys == 0 ? null : new StateCache(cacheKeys);
    var group = getRuntimeContext().getMetricGroup().addGroup("vigil").addGroup("features")
        .addGroup(engine.entity());
    lateCounter = group.counter("late");
    missingKey = group.counter("missing_key");
    duplicates = group.counter("duplicates");
  }

  @Override
  public void processElement(StreamRecord<FeatureEvent> record) throws Exception {
    FeatureEvent e = record.getValue();
    String key = (String) getCurrentKey();
    if (key.isEmpty()) {
      missingKey.inc();
      output.collect(record);
      return;
    }
    String id = null;
    if (seen != null) {
      Object v = e.event.get(idPos);
      id = v == null ? "" : v.toString();
      if (seen.contains(id)) {
        e.duplicate = true;
        duplicates.inc();
        output.collect(record);
        return;
      }
    }
    Object[] values;
    boolean isLate;
    if (cache == null) {
      EntityEngine.Result r = engine.apply(state.value(), e.event);
      if (!r.late()) {
        state.update(r.newState());
      }
      values = r.values();
      isLate = r.late();
    } else {
      int hash = key.hashCode();
      int cached = cache.find(key, hash);
      EntityEngine.InPlace r;
      if (cached >= 0) {
        cache.markReferenced(cached);
        // The cache's own buffer (from the engine; the backend gets copies): overwritten in place.
        r = engine.applyInPlace(cache.value(cached), cache.length(cached), true, e.event);
      } else {
        byte[] stored = state.value(); // the backend's: read only
        r = engine.applyInPlace(stored, stored == null ? 0 : stored.length, false, e.event);
      }
      if (!r.late() && cached >= 0) {
        cache.put(cached, r.buffer(), r.length());
      } else if (!r.late()) {
        cache.add(key, hash, r.buffer(), r.length());
      }
      values = r.values();
      isLate = r.late();
    }
    if (isLate) {
      e.late = true;
      lateCounter.inc();
      output.collect(late, record);
    } else if (seen != null) {
      seen.put(id, engine.eventTimeOf(e.event));
    }
    for (int i = 0; i < slots.length; i++) {
      e.values[slots[i]] = values[i];
    }
    output.collect(record);
    if (cache != null && cache.overCapacity()) {
      evictEldest(); // after the event: the current key may change
    }
  }

  /** Evicts one entry: the oldest whose bit is clear, clearing bits on the way (CLOCK). */
  private void evictEldest() throws Exception {
    int id = cache.evictionCandidate();
    setCurrentKey(cache.key(id));
    state.update(cache.stateOf(id));
    cache.remove(id);
  }

  /** Writes every changed value to the state backend and empties the cache. */
  private void flush() throws Exception {
    if (cache == null) {
      return;
    }
    cache.forEach((key, value) -> {
      setCurrentKey(key);
      state.update(value);
    });
    cache.clear();
  }

  /** Before the barrier goes on and the state backend is snapshotted. */
  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    super.prepareSnapshotPreBarrier(checkpointId);
    flush();
  }

  /** End of a bounded input, or stop-with-savepoint --drain: the last values go to state. */
  @Override
  public void finish() throws Exception {
    flush();
    super.finish();
  }
}
