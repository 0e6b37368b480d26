package dev.vigil.transforms.flink;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.EntityTiming;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.state.StateInitializationContext;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.InternalTimer;
import org.apache.flink.streaming.api.operators.InternalTimerService;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.api.operators.Triggerable;
import org.apache.flink.runtime.state.StateSnapshotContext;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.util.OutputTag;

/**
 * One entity's features (keyed by its key): the values as of just before each event written into
 * the event's slots, then passed on.
 *
 * <p>State: {@link FeatureStates#features}, one value per key, dropped in event time once the
 * watermark has passed the key's newest event plus the entity's TTL and lag ({@link
 * #onEventTime}; counted in the gauge {@code keys}). In front of it, a write-behind cache of up to {@code cacheKeys} keys' values
 * (second-chance eviction, below): a hit costs no state access, so a busy key costs one state read per
 * checkpoint interval instead of a read and a write per event (on RocksDB, two native calls and a
 * copy of the whole value). Changed values go to the state backend when they leave the cache and
 * at every checkpoint barrier ({@link #prepareSnapshotPreBarrier}), before the backend is
 * snapshotted, so checkpoints and savepoints hold exactly what a write-through stage would; the
 * cache is then emptied. {@code cacheKeys = 0}: write-through.
 *
 * <p>Eviction is second chance (CLOCK): a hit only sets the entry's {@code referenced} bit; the
 * oldest entry leaves unless its bit is set, in which case the bit is cleared and the entry goes
 * to the back. Close to least-recently-used, without an access-ordered map relinking its list on
 * every hit, which touched two more entries per event and cost a fifth of the stage's time ({@code
 * bench features}, 10,000 cards: 388k events/s with the access-ordered map, 477k without). The
 * cache is a {@link StateCache} (parallel arrays under an open-addressing index), not a map of
 * holder objects: a hit then touches the key and the value only.
 *
 * <p>Order ({@link EntityTiming}, from the spec):
 *
 * <ul>
 *   <li><b>event_time</b>: an event waits on the heap until the watermark has passed it, then the
 *       stage applies its key's events in event-time order (ties by {@code seq}), exactly as the
 *       offline evaluator does whatever the partitioning. With an {@code as_of} lag {@code L}, an
 *       event at {@code t} is read as of {@code q = t − L} as soon as the watermark is at {@code q
 *       − 1} (at once when {@code L} exceeds the watermark's delay): from the state plus the key's
 *       waiting events older than {@code q}, replayed on a copy; its own update is applied for
 *       good once the watermark passes {@code t + L}, when no later reader can need the state
 *       without it. Waiting events are written to keyed state at each checkpoint barrier and read
 *       back on restore, so a restart or rescale loses none.
 *   <li><b>arrival</b> (only the first stage, the partition key): each event is applied as it
 *       comes. An event older than its key's newest is counted in {@code out_of_order}.
 * </ul>
 *
 * <p>Late policy: an event that arrives behind the watermark (event_time) is applied at once,
 * its values read from the state as it is (which may hold later events), marked late and
 * counted in {@code vigil.features.<entity>.late}; it is scored like any other. An event older
 * than its key's newest by more than the longest window changes no state (null values). Either
 * goes to the {@link #lateTag late} side output too. An event with no key for this entity passes
 * with nulls (counted in {@code missing_key}); a duplicate passes untouched.
 *
 * <p>Dedupe (when a horizon is given): {@link FeatureStates#dedupe} holds the key's transaction
 * ids of the horizon; an event whose id is there is a producer retry: marked {@code duplicate},
 * state untouched, null values, counted in {@code vigil.features.<entity>.duplicates}. It is done
 * here, per entity key, rather than by a {@code keyBy(transaction_id)} in front of the stages,
 * because such a shuffle would interleave each card's events from several subtasks and lose the
 * per-key order that makes streaming equal the offline backfill.
 */
public final class FeatureStage extends AbstractStreamOperator<FeatureEvent>
    implements OneInputStreamOperator<FeatureEvent, FeatureEvent>, Triggerable<String, VoidNamespace> {
  private static final long serialVersionUID = 5L;
  private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(FeatureStage.class);

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
  private final EntityTiming timing;
  /** The events' type, for the waiting events' state (null: arrival order, nothing waits). */
  private final FeatureEventTypeInfo type;
  /** How long an event waits on the wall clock for the watermark ({@link FeatureOptions#MAX_WAIT}). */
  private final long maxWaitMillis;
  /** What the state depends on ({@link StageSpec}), checked when it is restored. */
  private final String specDescription;
  private boolean refuseEmptyStart;
  /** The input partition of an event's seq, for the in-flight count; null: not counted. */
  private SeqPartition partitionOfSeq;
  private transient ValueState<byte[]> state;
  private transient MapState<String, Long> seen;
  /** Null when write-through ({@code cacheKeys = 0}). */
  private transient StateCache cache;
  private transient Counter lateCounter;
  private transient Counter outOfOrder;
  private transient Counter missingKey;
  private transient Counter duplicates;
  private transient Counter forced;
  private transient Counter cacheHits;
  private transient Counter cacheMisses;

  // Expiry in event time (see expireIdle): one timer per key, at due(newest).
  /** How long after its newest event a key's state is dropped, in event time; -1: never. */
  private final long expiryMillis;
  /** Timers are rounded up to multiples of this, so a busy key moves its timer rarely. */
  private final long expiryStepMillis;
  private transient InternalTimerService<VoidNamespace> timers;
  /** Keys with state on this subtask ({@code vigil.features.<entity>.keys}). */
  private transient long keys;
  private transient long expired;
  /** Per subtask its key count and whether its timers match this expiry ({@link #KEYS}). */
  private transient ListState<String> keyCounts;
  private transient List<String> restoredKeyCounts;
  private transient boolean restored;

  // Event-time order: what waits for the watermark, on the heap (written to state at barriers).
  private transient PriorityQueue<Waiting> queue;
  /** With a lag: per key its events whose update is not applied yet (to replay for readers). */
  private transient Map<String, PendingUpdates> unapplied;
  private transient ListState<FeatureEvent> waitingReads;
  private transient ListState<FeatureEvent> waitingUpdates;
  /** Keys whose waiting events the last barrier wrote to state. */
  private transient Set<String> persisted;
  private transient long watermark;
  /** Wall-clock time of the last record or watermark move (see releaseOverdue). */
  private transient long lastInput;
  /** Waiting reads per input partition at the last barriers (null: not counted). */
  private transient PartitionCounts inFlight;
  private transient long restoredCheckpoint;
  private transient List<FeatureEvent> restoredReads;
  private transient List<FeatureEvent> restoredUpdates;
  private transient List<String> restoredKeys;
  /** Events a savepoint tool handed over (key, bytes), read once in {@link #open}. */
  private transient List<Map.Entry<String, byte[]>> handedOver;

  /** What waits for the watermark: a read (and, without a lag, the update with it) or an update. */
  private record Waiting(long due, long seq, boolean read, String key, FeatureEvent event,
      long arrived) {}

  /** By due time; at one instant updates before reads; then by seq. No boxing: it runs per event. */
  private static final Comparator<Waiting> ORDER = (a, b) -> {
    int c = Long.compare(a.due(), b.due());
    if (c != 0) {
      return c;
    }
    if (a.read() != b.read()) {
      return a.read() ? 1 : -1;
    }
    return Long.compare(a.seq(), b.seq());
  };

  /** Write-through, no dedupe, arrival order (operator tests of the state layout). */
  public FeatureStage(EntityEngine engine, int[] slots, OutputTag<FeatureEvent> late) {
    this(engine, slots, late, -1, null, 0);
  }

  /** Arrival order: see {@link #FeatureStage(EntityEngine, int[], OutputTag, int, Duration, int, EntityTiming, FeatureEventTypeInfo)}. */
  public FeatureStage(EntityEngine engine, int[] slots, OutputTag<FeatureEvent> late, int idPos,
      Duration dedupeHorizon, int cacheKeys) {
    this(engine, slots, late, idPos, dedupeHorizon, cacheKeys,
        new EntityTiming(EntityTiming.Ordering.ARRIVAL, 0), null);
  }

  /**
   * @param idPos the transaction id's field position for dedupe, -1 for none
   * @param dedupeHorizon how long an id is remembered (with {@code idPos >= 0})
   * @param cacheKeys keys kept in the write-behind cache, 0 for write-through
   * @param timing the entity's order and lag
   * @param type the events' type (for the waiting events' state; needed for event_time)
   */
  public FeatureStage(EntityEngine engine, int[] slots, OutputTag<FeatureEvent> late, int idPos,
      Duration dedupeHorizon, int cacheKeys, EntityTiming timing, FeatureEventTypeInfo type) {
    this(engine, slots, late, idPos, dedupeHorizon, cacheKeys, timing, type,
        FeatureOptions.MAX_WAIT.defaultValue());
  }

  /** As above, an event waiting at most {@code maxWait} for the watermark. */
  public FeatureStage(EntityEngine engine, int[] slots, OutputTag<FeatureEvent> late, int idPos,
      Duration dedupeHorizon, int cacheKeys, EntityTiming timing, FeatureEventTypeInfo type,
      Duration maxWait) {
    if (cacheKeys < 0) {
      throw new IllegalArgumentException(FeatureOptions.CACHE_KEYS.key()
          + " must be 0 (no cache) or more, got " + cacheKeys);
    }
    if (timing.ordering() == EntityTiming.Ordering.EVENT_TIME && type == null) {
      throw new IllegalArgumentException("an event-time stage needs the events' type");
    }
    this.engine = engine;
    this.slots = slots;
    this.late = late;
    this.idPos = idPos;
    this.dedupeHorizon = dedupeHorizon;
    this.cacheKeys = cacheKeys;
    this.timing = timing;
    this.type = timing.ordering() == EntityTiming.Ordering.EVENT_TIME ? type : null;
    this.maxWaitMillis = maxWait.toMillis();
    this.specDescription = StageSpec.describe(engine);
    this.expiryMillis = engine.stateTtlMillis().isPresent()
        ? engine.stateTtlMillis().getAsLong() + timing.asOfMillis() : -1;
    this.expiryStepMillis = Math.max(1_000L, expiryMillis / 16);
  }

  /**
   * The operator (union list) state of the key counts: one entry per subtask, {@code
   * parallelism/subtask/keys/expiry}, where expiry is the one its timers were set for ({@code -1}:
   * none may be trusted, e.g. after a drain fired them all). A restore at the same parallelism
   * takes its own entry; otherwise, or when the timers do not match, the stage counts its keys
   * (and sets their timers) once, in {@link #open}.
   */
  public static final String KEYS = "vigil-keys";

  /**
   * Whether a start without restored state fails the job ({@link FeatureOptions#EMPTY_START_REFUSED}): a
   * scoring job that starts cold scores with features that lack all history.
   */
  public FeatureStage refuseEmptyStart(boolean refuse) {
    this.refuseEmptyStart = refuse;
    return this;
  }

  /** The input partition an event's {@link FeatureEvent#seq} says it came from. */
  @FunctionalInterface
  public interface SeqPartition extends java.io.Serializable {
    int partitionOf(long seq);
  }

  /**
   * Counts the events that wait here per input partition ({@code partitionOfSeq} of their seq), as
   * of each completed checkpoint: the gauge {@code vigil.reconcile.partition.<p>.in_flight} of the
   * job's reconciliation ({@link PartitionCounts}). Only an event-time stage holds events back.
   */
  public FeatureStage countInFlight(SeqPartition partitionOfSeq) {
    this.partitionOfSeq = partitionOfSeq;
    return this;
  }

  private boolean ordered() {
    return type != null;
  }

  private long lag() {
    return timing.asOfMillis();
  }

  @Override
  public void initializeState(StateInitializationContext context) throws Exception {
    super.initializeState(context);
    checkSpec(context);
    restoredCheckpoint = context.getRestoredCheckpointId().orElse(0L);
    restored = context.isRestored();
    keyCounts = context.getOperatorStateStore().getUnionListState(
        new ListStateDescriptor<>(KEYS, org.apache.flink.api.common.typeinfo.Types.STRING));
    restoredKeyCounts = new ArrayList<>();
    keyCounts.get().forEach(restoredKeyCounts::add);
    if (!ordered()) {
      return;
    }
    // The waiting events of a checkpoint, whichever subtask wrote them (key groups move on rescale).
    restoredReads = new ArrayList<>();
    restoredUpdates = new ArrayList<>();
    restoredKeys = new ArrayList<>();
    getKeyedStateBackend().applyToAllKeys(
        VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, readsDescriptor(),
        (key, s) -> {
          restoredKeys.add((String) key);
          s.get().forEach(restoredReads::add);
        });
    getKeyedStateBackend().applyToAllKeys(
        VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, updatesDescriptor(),
        (key, s) -> {
          restoredKeys.add((String) key);
          s.get().forEach(restoredUpdates::add);
        });
    handedOver = new ArrayList<>();
    getKeyedStateBackend().applyToAllKeys(
        VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE, FeatureStates.handedOver(),
        (key, s) -> s.get().forEach(b -> handedOver.add(Map.entry((String) key, b))));
  }

  private ListStateDescriptor<FeatureEvent> readsDescriptor() {
    return new ListStateDescriptor<>(FeatureStates.WAITING_READS, type);
  }

  private ListStateDescriptor<FeatureEvent> updatesDescriptor() {
    return new ListStateDescriptor<>(FeatureStates.WAITING_UPDATES, type);
  }

  /**
   * Refuses a restore of state written under another spec for this entity, and a start without
   * state when told to; keeps this spec's description in operator state (union: every subtask
   * reads it after a rescale; subtask 0 writes it). Savepoints written by the state tools have
   * none: their stamp ({@code vigil-savepoint.json}) is checked by the tools and the job's start.
   * A refusal fails the job for good (no restart would change the answer).
   */
  private void checkSpec(StateInitializationContext context) throws Exception {
    ListState<String> stored = context.getOperatorStateStore().getUnionListState(
        new ListStateDescriptor<>(FeatureStates.SPEC, org.apache.flink.api.common.typeinfo.Types.STRING));
    if (context.isRestored()) {
      for (String description : stored.get()) {
        String refusal = StageSpec.difference(engine.entity(), description, specDescription);
        if (refusal != null) {
          throw new org.apache.flink.runtime.execution.SuppressRestartsException(
              new IllegalStateException(refusal));
        }
      }
    } else if (refuseEmptyStart) {
      throw new org.apache.flink.runtime.execution.SuppressRestartsException(
          new IllegalStateException("feature stage '" + engine.entity() + "': the job starts"
              + " without state (no savepoint or checkpoint to restore), so every event would be"
              + " scored with features that lack its entity's history. Start from a savepoint"
              + " (one from `vigil state bootstrap`, or of this job), or allow a cold start"
              + " explicitly (the scoring job's key state.empty-start=allow)"));
    }
    stored.update(getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0
        ? List.of(specDescription) : List.of());
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
    outOfOrder = group.counter("out_of_order");
    missingKey = group.counter("missing_key");
    duplicates = group.counter("duplicates");
    forced = group.counter("forced");
    cacheHits = group.counter("cache_hits");
    cacheMisses = group.counter("cache_misses");
    group.gauge("keys", () -> keys);
    group.gauge("expired", () -> expired);
    if (expiryMillis >= 0) {
      timers = getInternalTimerService("vigil-expiry", VoidNamespaceSerializer.INSTANCE, this);
    }
    restoreKeyCount();
    group.gauge("cache_hit_ratio", () -> {
      long h = cacheHits.getCount();
      long all = h + cacheMisses.getCount();
      return all == 0 ? 1.0 : (double) h / all;
    });
    // The same counts as job-wide accumulators (all entities, all subtasks): what a run reports.
    lateCounter = both(lateCounter, ACC_LATE);
    outOfOrder = both(outOfOrder, ACC_OUT_OF_ORDER);
    forced = both(forced, ACC_FORCED);
    watermark = Long.MIN_VALUE;
    if (ordered()) {
      queue = new PriorityQueue<>(ORDER);
      unapplied = new HashMap<>();
      persisted = new HashSet<>();
      waitingReads = getRuntimeContext().getListState(readsDescriptor());
      waitingUpdates = getRuntimeContext().getListState(updatesDescriptor());
      group.gauge("waiting", () -> queue.size());
      // How far the stage's event time is behind the wall clock (−1 before the first watermark).
      group.gauge("watermark_lag_ms", () -> watermark == Long.MIN_VALUE ? -1L
          : Math.max(0, now() - watermark));
      getProcessingTimeService().registerTimer(now() + Math.max(50, maxWaitMillis / 4),
          this::releaseOverdue);
      if (restoredKeys != null) {
        persisted.addAll(restoredKeys);
        for (FeatureEvent e : restoredUpdates) {
          waitUpdate(engine.keyOf(e.event), e);
        }
        for (FeatureEvent e : restoredReads) {
          waitRead(engine.keyOf(e.event), e);
        }
        restoredKeys = null;
        restoredReads = null;
        restoredUpdates = null;
      }
      if (LOG.isDebugEnabled()) {
        LOG.debug("{} {}: restored checkpoint {} with {} waiting", engine.entity(),
            getRuntimeContext().getTaskInfo().getTaskNameWithSubtasks(), restoredCheckpoint,
            queue.size());
      }
      if (partitionOfSeq != null) {
        inFlight = new PartitionCounts("in_flight");
        inFlight.set(waitingReadsByPartition()); // the restored checkpoint's (0 when none)
        inFlight.snapshot(restoredCheckpoint);
        inFlight.completed(restoredCheckpoint);
        inFlight.open(getRuntimeContext().getMetricGroup().addGroup("vigil")
            .addGroup("reconcile"));
      }
      if (handedOver != null && !handedOver.isEmpty()) {
        // A bootstrap's events of the last as_of before its cut-over: waiting updates from now
        // on (written with the others at the next barrier), no longer the tool's.
        ListState<byte[]> tool = getRuntimeContext().getListState(FeatureStates.handedOver());
        HandedOverEvents codec = new HandedOverEvents();
        org.apache.avro.Schema schema = new org.apache.avro.Schema.Parser().parse(type.schemaJson());
        long seq = Long.MIN_VALUE; // before any event of the stream, which all come later
        Set<String> keys = new HashSet<>();
        for (Map.Entry<String, byte[]> h : handedOver) {
          FeatureEvent e = new FeatureEvent(codec.decode(h.getValue(), schema), seq++,
              type.featureCount());
          keys.add(h.getKey());
          if (lag() == 0) {
            setCurrentKey(h.getKey());
            step(h.getKey(), e); // nothing reads behind it: applied at once, never emitted
          } else {
            waitUpdate(h.getKey(), e);
          }
        }
        for (String key : keys) {
          setCurrentKey(key);
          tool.clear();
        }
        persisted.addAll(keys);
      }
      handedOver = null;
    }
  }

  @Override
  public void processElement(StreamRecord<FeatureEvent> record) throws Exception {
    if (ordered()) {
      lastInput = now();
    }
    FeatureEvent e = record.getValue();
    String key = (String) getCurrentKey();
    if (e.duplicate) {
      output.collect(record); // an earlier stage's verdict: nothing to count here
      return;
    }
    if (key.isEmpty()) {
      missingKey.inc();
      output.collect(record);
      return;
    }
    if (seen != null) {
      Object v = e.event.get(idPos);
      String id = v == null ? "" : v.toString();
      if (seen.contains(id)) {
        e.duplicate = true;
        duplicates.inc();
        output.collect(record);
        return;
      }
      seen.put(id, engine.eventTimeOf(e.event));
    }
    if (!ordered()) {
      applyAndEmit(key, e);
      return;
    }
    long t = engine.eventTimeOf(e.event);
    if (t <= watermark) {
      // Behind the watermark: the one rule for late events (docs/feature-spec.md).
      lateCounter.inc();
      if (LOG.isDebugEnabled()) {
        LOG.debug("{} {}: late event seq {} key {} at {}, watermark {}", engine.entity(),
            getRuntimeContext().getTaskInfo().getTaskNameWithSubtasks(), e.seq, key, t,
            watermark);
      }
      e.late = true;
      if (lag() == 0 || t + lag() <= watermark) {
        applyAndEmit(key, e);
      } else {
        waitUpdate(key, e);
        emitRead(key, e);
      }
      return;
    }
    if (lag() == 0) {
      queue.add(new Waiting(t, e.seq, true, key, e, now()));
      return;
    }
    waitUpdate(key, e);
    if (t - lag() - 1 <= watermark) {
      emitRead(key, e); // nothing to wait for: the lag covers the watermark's delay
    } else {
      waitRead(key, e);
    }
  }

  private void waitUpdate(String key, FeatureEvent e) {
    if (lag() == 0) {
      queue.add(new Waiting(engine.eventTimeOf(e.event), e.seq, true, key, e, now()));
      return;
    }
    long t = engine.eventTimeOf(e.event);
    queue.add(new Waiting(t + lag(), e.seq, false, key, e, now()));
    unapplied.computeIfAbsent(key, k -> new PendingUpdates()).add(e, t);
  }

  private void waitRead(String key, FeatureEvent e) {
    if (lag() == 0) {
      return; // without a lag, the read and the update are one waiting entry (waitUpdate)
    }
    queue.add(new Waiting(engine.eventTimeOf(e.event) - lag() - 1, e.seq, true, key, e, now()));
  }

  /** Job-wide accumulators (all stages, all subtasks) of the late, out-of-order, forced counts. */
  public static final String ACC_LATE = "vigil.features.late";

  public static final String ACC_OUT_OF_ORDER = "vigil.features.out_of_order";
  public static final String ACC_FORCED = "vigil.features.forced";

  /** A counter that also adds to the job-wide accumulator {@code name}. */
  private Counter both(Counter metric, String name) {
    LongCounter acc = new LongCounter();
    getRuntimeContext().addAccumulator(name, acc);
    return new Counter() {
      @Override
      public void inc() {
        metric.inc();
        acc.add(1L);
      }

      @Override
      public void inc(long n) {
        metric.inc(n);
        acc.add(n);
      }

      @Override
      public void dec() {
        throw new UnsupportedOperationException();
      }

      @Override
      public void dec(long n) {
        throw new UnsupportedOperationException();
      }

      @Override
      public long getCount() {
        return metric.getCount();
      }
    };
  }

  private long now() {
    return getProcessingTimeService().getCurrentProcessingTime();
  }

  @Override
  public void processWatermark(Watermark mark) throws Exception {
    if (ordered()) {
      if (mark.getTimestamp() > watermark) {
        lastInput = now();
      }
      watermark = mark.getTimestamp();
      while (!queue.isEmpty() && queue.peek().due() <= watermark) {
        release(queue.poll());
      }
    }
    super.processWatermark(mark);
  }

  /**
   * Not forwarded: the stage's output is always active. An idle input turning active hands its
   * first record on before its status (Flink's source output emits a record, then lets the
   * watermark generator mark the split active), so the next stage may see that record on a channel
   * still marked idle, which its watermark does not wait for; if another subtask of this stage,
   * quicker, has already forwarded a watermark past the record, the record is late there (seen:
   * merchant counts off by 1 to 4 for the first events after a pause, one input partition at
   * parallelism 4, ExactlyOnceITCase). With every channel active, the next stage's watermark is the
   * minimum over all of this stage's subtasks, and each forwards a watermark only after the records
   * before it. Every subtask of a keyed stage reads from every subtask before it, so they go idle
   * together and none holds the watermark back for longer than it takes to forward it; while all
   * are idle the watermark stops either way, and the next stage's {@code max-wait} applies.
   */
  @Override
  public void processWatermarkStatus(
      org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus status) {}

  private void release(Waiting w) throws Exception {
    setCurrentKey(w.key());
    if (lag() == 0) {
      applyAndEmit(w.key(), w.event());
    } else if (w.read()) {
      emitRead(w.key(), w.event());
    } else {
      applyUpdate(w.key(), w.event());
    }
  }

  /**
   * When the stage's input has been silent for {@code maxWait} (no record, no watermark move: every
   * partition idle, a quiet topic, where the watermark stops), reads what has waited that long,
   * oldest in event time first. Not while records flow: then the watermark is only late (a
   * subtask still starting, a partition behind) and will come. An update waiting for a lag stays:
   * it changes no value that was read, and readers replay it.
   */
  private void releaseOverdue(long time) throws Exception {
    long cutoff = time - maxWaitMillis;
    if (lastInput <= cutoff) {
      while (!queue.isEmpty() && queue.peek().arrived() <= cutoff
          && (queue.peek().read() || lag() == 0)) {
        forced.inc();
        if (LOG.isDebugEnabled()) {
          LOG.debug("{} {}: forced release of seq {} at {}, watermark {}", engine.entity(),
              getRuntimeContext().getTaskInfo().getTaskNameWithSubtasks(), queue.peek().seq(),
              queue.peek().due(), watermark);
        }
        release(queue.poll());
      }
    }
    getProcessingTimeService().registerTimer(time + Math.max(50, maxWaitMillis / 4),
        this::releaseOverdue);
  }

  /** The current key's state: the cached buffer's exact copy, or the backend's value. */
  private byte[] currentState(String key) throws Exception {
    if (cache != null) {
      int cached = cache.find(key, key.hashCode());
      if (cached >= 0) {
        cacheHits.inc();
        return cache.stateOf(cached);
      }
      cacheMisses.inc();
    }
    return state.value();
  }

  /**
   * With a lag: reads {@code e} as of {@code t − lag} from the state and the key's unapplied events
   * older than that, going on from the last reader's replay when it can ({@link PendingUpdates}).
   */
  private void emitRead(String key, FeatureEvent e) throws Exception {
    long asOf = engine.eventTimeOf(e.event) - lag();
    PendingUpdates pending = unapplied.get(key);
    byte[] s;
    if (pending == null || pending.isEmpty() || pending.time(0) >= asOf) {
      s = currentState(key);
    } else {
      int from = 0;
      if (asOf >= pending.cursor() && pending.replayedCount() > 0) {
        s = pending.replayed();
        from = pending.replayedCount();
      } else {
        s = currentState(key);
      }
      int n = pending.size();
      int i = from;
      for (; i < n && pending.time(i) < asOf; i++) {
        EntityEngine.Result r = engine.apply(s, pending.event(i).event);
        if (!r.late()) {
          s = r.newState();
        }
      }
      pending.replayedTo(asOf, s, i);
    }
    Object[] values = engine.valuesAt(s, asOf);
    emit(e, values, false);
  }

  /** With a lag: the update of {@code e}, for good (no reader can need the state without it now). */
  private void applyUpdate(String key, FeatureEvent e) throws Exception {
    PendingUpdates pending = unapplied.get(key);
    if (pending != null) {
      pending.removeApplied(e);
      if (pending.isEmpty()) {
        unapplied.remove(key);
      }
    }
    step(key, e);
  }

  /** Applies {@code e} to its key's state; the values as of just before it, or null when late. */
  private Object[] step(String key, FeatureEvent e) throws Exception {
    if (cache == null) {
      byte[] old = state.value();
      EntityEngine.Result r = engine.apply(old, e.event);
      if (!r.late()) {
        state.update(r.newState());
        applied(old == null ? Long.MIN_VALUE : engine.newestMillis(old), r.newState());
      }
      return r.late() ? null : r.values();
    }
    int hash = key.hashCode();
    int cached = cache.find(key, hash);
    EntityEngine.InPlace r;
    long newestBefore;
    if (cached >= 0) {
      cacheHits.inc();
      cache.markReferenced(cached);
      newestBefore = engine.newestMillis(cache.value(cached)); // before it is overwritten
      // The cache's own buffer (from the engine; the backend gets copies): overwritten in place.
      r = engine.applyInPlace(cache.value(cached), cache.length(cached), true, e.event);
    } else {
      cacheMisses.inc();
      byte[] stored = state.value(); // the backend's: read only
      newestBefore = stored == null ? Long.MIN_VALUE : engine.newestMillis(stored);
      r = engine.applyInPlace(stored, stored == null ? 0 : stored.length, false, e.event);
    }
    if (!r.late()) {
      applied(newestBefore, r.buffer());
    }
    if (!r.late() && cached >= 0) {
      cache.put(cached, r.buffer(), r.length());
    } else if (!r.late()) {
      cache.add(key, hash, r.buffer(), r.length());
    }
    if (cache.overCapacity()) {
      evictEldest(); // the current key changes: callers set it again per event
      setCurrentKey(key);
    }
    return r.late() ? null : r.values();
  }

  /**
   * After an event changed the current key's state (newest event before it: {@code newestBefore},
   * MIN_VALUE for a new key): counts a new key, moves its expiry timer when its due time moved.
   */
  private void applied(long newestBefore, byte[] now) {
    if (newestBefore == Long.MIN_VALUE) {
      keys++;
    }
    if (timers == null) {
      return;
    }
    long due = due(engine.newestMillis(now));
    if (newestBefore == Long.MIN_VALUE) {
      timers.registerEventTimeTimer(VoidNamespace.INSTANCE, due);
    } else {
      long before = due(newestBefore);
      if (before != due) {
        timers.deleteEventTimeTimer(VoidNamespace.INSTANCE, before);
        timers.registerEventTimeTimer(VoidNamespace.INSTANCE, due);
      }
    }
  }

  /** When the state of a key whose newest event is at {@code newest} may go: rounded up. */
  private long due(long newest) {
    long at = newest + expiryMillis;
    if (at < newest) {
      return Long.MAX_VALUE; // overflow: never
    }
    return Math.floorDiv(at, expiryStepMillis) * expiryStepMillis
        + (Math.floorMod(at, expiryStepMillis) == 0 ? 0 : expiryStepMillis);
  }

  /**
   * Event-time expiry: the watermark has passed the current key's due time, so no event that is
   * not late can read its state any more ({@link EntityEngine#stateTtlMillis}: at or after newest
   * + TTL, the state reads as a new key's; with an {@code as_of} lag, reads go back that much
   * further, so the due time adds it). The state is dropped, from the cache too; dropping it
   * changes no value of an on-time event, online or offline. A timer whose key has moved on since
   * (newer events, a restore) sets the right one instead.
   */
  @Override
  public void onEventTime(InternalTimer<String, VoidNamespace> timer) throws Exception {
    String key = timer.getKey();
    if (timers.currentWatermark() == Long.MAX_VALUE) {
      // End of input or a drain: every timer fires at once. The state stays for the savepoint;
      // its timers are gone, so the snapshot says so and a restore sets them again.
      return;
    }
    int cached = cache == null ? -1 : cache.find(key, key.hashCode());
    byte[] current = cached >= 0 ? cache.stateOf(cached) : state.value();
    if (current == null) {
      return;
    }
    long due = due(engine.newestMillis(current));
    if (due > timer.getTimestamp()) {
      timers.registerEventTimeTimer(VoidNamespace.INSTANCE, due);
      return;
    }
    if (cached >= 0) {
      cache.discard(cached);
    }
    state.clear();
    if (unapplied != null) {
      PendingUpdates pending = unapplied.get(key);
      if (pending != null) {
        pending.invalidate(); // its replay started from the dropped state
      }
    }
    keys--;
    expired++;
  }

  @Override
  public void onProcessingTime(InternalTimer<String, VoidNamespace> timer) {}

  /**
   * The key count (and, when the restored timers do not match this stage's expiry, the timers)
   * from the restored entries ({@link #KEYS}), or by one pass over the keys: after a rescale, a
   * savepoint tool's savepoint (which has no entries), a drain.
   */
  private void restoreKeyCount() throws Exception {
    if (!restored) {
      return;
    }
    int parallelism = getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks();
    int index = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
    boolean sameParallelism = !restoredKeyCounts.isEmpty();
    boolean timersValid = !restoredKeyCounts.isEmpty();
    long mine = -1;
    for (String entry : restoredKeyCounts) {
      String[] f = entry.split("/");
      sameParallelism &= Integer.parseInt(f[0]) == parallelism;
      timersValid &= Long.parseLong(f[3]) == expiryMillis;
      if (Integer.parseInt(f[1]) == index) {
        mine = Long.parseLong(f[2]);
      }
    }
    restoredKeyCounts = null;
    boolean setTimers = timers != null && !timersValid;
    if (sameParallelism && mine >= 0 && !setTimers) {
      keys = mine;
      return;
    }
    long started = System.nanoTime();
    long[] count = {0};
    getKeyedStateBackend().applyToAllKeys(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE,
        FeatureStates.features(engine), (key, s) -> {
          byte[] v = s.value();
          if (v != null) {
            count[0]++;
            if (setTimers) {
              timers.registerEventTimeTimer(VoidNamespace.INSTANCE, due(engine.newestMillis(v)));
            }
          }
        });
    keys = count[0];
    LOG.info("{} {}: counted {} keys{} in {} ms", engine.entity(),
        getRuntimeContext().getTaskInfo().getTaskNameWithSubtasks(), keys,
        setTimers ? " and set their expiry timers" : "", (System.nanoTime() - started) / 1_000_000);
  }

  @Override
  public void snapshotState(StateSnapshotContext context) throws Exception {
    super.snapshotState(context);
    boolean drained = timers != null && timers.currentWatermark() == Long.MAX_VALUE;
    keyCounts.update(List.of(getRuntimeContext().getTaskInfo().getNumberOfParallelSubtasks() + "/"
        + getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() + "/" + keys + "/"
        + (drained ? -2 : expiryMillis)));
  }

  private void applyAndEmit(String key, FeatureEvent e) throws Exception {
    if (unapplied != null) {
      PendingUpdates pending = unapplied.get(key);
      if (pending != null) {
        pending.invalidate(); // the state changes under the replay (a late event, applied at once)
      }
    }
    Object[] values = step(key, e);
    if (values != null && engine.lastWasOutOfOrder() && !ordered()) {
      outOfOrder.inc();
    }
    if (values == null) {
      if (!e.late) {
        lateCounter.inc(); // older than its key's newest by more than the longest window
      }
      e.late = true;
    }
    emit(e, values, values == null);
  }

  private void emit(FeatureEvent e, Object[] values, boolean nulls) {
    for (int i = 0; i < slots.length; i++) {
      e.values[slots[i]] = nulls ? null : values[i];
    }
    StreamRecord<FeatureEvent> out = new StreamRecord<>(e, engine.eventTimeOf(e.event));
    if (e.late) {
      output.collect(late, out);
    }
    output.collect(out);
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

  /** The waiting events into keyed state, so that the checkpoint holds them. */
  private void persistWaiting() throws Exception {
    Map<String, List<FeatureEvent>> reads = new HashMap<>();
    Map<String, List<FeatureEvent>> updates = new HashMap<>();
    for (Waiting w : queue) {
      if (w.read()) {
        reads.computeIfAbsent(w.key(), k -> new ArrayList<>()).add(w.event());
      }
      if (!w.read() || lag() == 0) {
        updates.computeIfAbsent(w.key(), k -> new ArrayList<>()).add(w.event());
      }
    }
    Set<String> keys = new HashSet<>(reads.keySet());
    keys.addAll(updates.keySet());
    for (String key : persisted) {
      if (!keys.contains(key)) {
        setCurrentKey(key);
        waitingReads.clear();
        waitingUpdates.clear();
      }
    }
    for (String key : keys) {
      setCurrentKey(key);
      // Without a lag a waiting entry is read and update at once: stored once, as an update.
      waitingReads.update(lag() == 0 ? List.of() : reads.getOrDefault(key, List.of()));
      waitingUpdates.update(updates.getOrDefault(key, List.of()));
    }
    persisted = keys;
  }

  /** Before the barrier goes on and the state backend is snapshotted. */
  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    super.prepareSnapshotPreBarrier(checkpointId);
    flush();
    if (ordered()) {
      persistWaiting();
    }
    if (inFlight != null) {
      inFlight.set(waitingReadsByPartition());
      inFlight.snapshot(checkpointId);
    }
  }

  /** The events not emitted yet (a read waits; without a lag, read and update are one entry). */
  private long[] waitingReadsByPartition() {
    long[] counts = new long[0];
    for (Waiting w : queue) {
      if (w.read()) {
        int p = partitionOfSeq.partitionOf(w.seq());
        if (p >= counts.length) {
          counts = java.util.Arrays.copyOf(counts, p + 1);
        }
        counts[p]++;
      }
    }
    return counts;
  }

  @Override
  public void notifyCheckpointComplete(long checkpointId) throws Exception {
    super.notifyCheckpointComplete(checkpointId);
    if (inFlight != null) {
      inFlight.completed(checkpointId);
    }
  }

  @Override
  public void notifyCheckpointAborted(long checkpointId) throws Exception {
    super.notifyCheckpointAborted(checkpointId);
    if (inFlight != null) {
      inFlight.aborted(checkpointId);
    }
  }

  /** End of a bounded input, or stop-with-savepoint --drain: the last values go to state. */
  @Override
  public void finish() throws Exception {
    flush();
    super.finish();
  }
}
