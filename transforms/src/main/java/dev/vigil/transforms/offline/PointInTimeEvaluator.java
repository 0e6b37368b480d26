package dev.vigil.transforms.offline;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.spec.CompiledSpec;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.IndexedRecord;

/**
 * Point-in-time-correct feature vectors offline: events fed in event-time order through the same
 * {@link EntityEngine}s the streaming job runs, with each key's state in a map. What it returns
 * for an event is what the stream computed for it, by construction.
 *
 * <p>An entity with an {@code as_of} lag ({@link dev.vigil.transforms.spec.EntityTiming}) reads an
 * event at {@code t} as of {@code t − as_of}: each key's events of the last {@code as_of} wait in a
 * queue and are applied once a later event reads past them, as the streaming stage does behind the
 * watermark. {@link #states} applies whatever still waits.
 */
public final class PointInTimeEvaluator {
  private final CompiledSpec spec;
  private final List<EntityEngine> engines;
  private final List<Map<String, byte[]>> states;
  private final int[][] slots;
  private final int featureCount;
  private final int idPos;
  /** Per entity its as_of lag, ms (0: read at the event's own time). */
  private final long[] lags;
  /** Per entity with a lag, per key the events not yet applied, in time order. */
  private final List<Map<String, ArrayDeque<IndexedRecord>>> waiting;
  private long late;

  public PointInTimeEvaluator(CompiledSpec spec) {
    this.spec = spec;
    this.engines = spec.engines();
    this.states = engines.stream().map(e -> (Map<String, byte[]>) new HashMap<String, byte[]>()).toList();
    List<String> all = spec.spec().featureNames();
    this.featureCount = all.size();
    this.slots = new int[engines.size()][];
    for (int e = 0; e < engines.size(); e++) {
      List<String> names = engines.get(e).featureNames();
      slots[e] = names.stream().mapToInt(all::indexOf).toArray();
    }
    this.lags = engines.stream()
        .mapToLong(e -> spec.spec().timingOf(e.entity()).asOfMillis()).toArray();
    this.waiting = engines.stream()
        .map(e -> (Map<String, ArrayDeque<IndexedRecord>>) new HashMap<String, ArrayDeque<IndexedRecord>>())
        .toList();
    var id = spec.schema().getField("transaction_id");
    this.idPos = id == null ? -1 : id.pos();
  }

  /** The features of {@code event} as known just before it; updates every entity's state. */
  public FeatureRow process(IndexedRecord event) {
    Object[] values = new Object[featureCount];
    long t = engines.get(0).eventTimeOf(event);
    for (int e = 0; e < engines.size(); e++) {
      EntityEngine engine = engines.get(e);
      String key = engine.keyOf(event);
      if (key == null) {
        continue; // no entity key: that entity's features stay null
      }
      Map<String, byte[]> state = states.get(e);
      Object[] own;
      if (lags[e] == 0) {
        EntityEngine.Result r = engine.apply(state.get(key), event);
        if (r.late()) {
          late++;
        } else {
          state.put(key, r.newState());
        }
        own = r.values();
      } else {
        long asOf = t - lags[e];
        ArrayDeque<IndexedRecord> queue =
            waiting.get(e).computeIfAbsent(key, k -> new ArrayDeque<>());
        applyBefore(e, key, queue, asOf);
        own = engine.valuesAt(state.get(key), asOf);
        queue.addLast(event);
      }
      int[] slot = slots[e];
      for (int i = 0; i < slot.length; i++) {
        values[slot[i]] = own[i];
      }
    }
    Object id = idPos < 0 ? null : event.get(idPos);
    return new FeatureRow(id == null ? null : id.toString(), t, values);
  }

  /** Applies the queued events of {@code key} older than {@code before} (all: MAX_VALUE). */
  private void applyBefore(int e, String key, ArrayDeque<IndexedRecord> queue, long before) {
    EntityEngine engine = engines.get(e);
    Map<String, byte[]> state = states.get(e);
    while (!queue.isEmpty() && engine.eventTimeOf(queue.peekFirst()) < before) {
      EntityEngine.Result r = engine.apply(state.get(key), queue.pollFirst());
      if (r.late()) {
        late++;
      } else {
        state.put(key, r.newState());
      }
    }
  }

  /** Events that were late for at least one entity. */
  public long lateCount() {
    return late;
  }

  /** The state of every key of {@code entity}, for savepoint tools and inspection. */
  public Map<String, byte[]> states(String entity) {
    for (int e = 0; e < engines.size(); e++) {
      if (engines.get(e).entity().equals(entity)) {
        int entityIndex = e;
        waiting.get(e).forEach((key, queue) -> applyBefore(entityIndex, key, queue, Long.MAX_VALUE));
        waiting.get(e).clear();
        return states.get(e);
      }
    }
    throw new IllegalArgumentException("no entity '" + entity + "' with features in the spec");
  }

  public List<EntityEngine> engines() {
    return engines;
  }

  public CompiledSpec spec() {
    return spec;
  }
}
