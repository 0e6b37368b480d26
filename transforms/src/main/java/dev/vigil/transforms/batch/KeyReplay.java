package dev.vigil.transforms.batch;

import dev.vigil.transforms.engine.EntityEngine;
import java.util.ArrayDeque;
import java.util.List;
import org.apache.avro.generic.IndexedRecord;

/**
 * One key's history through its entity's engine: for each event, in event-time order with ties in
 * input order, the entity's features as known just before it. Plain Java, the per-key half of
 * {@code PointInTimeEvaluator}: the same calls in the same order for this key's events, so the same
 * values and the same late count. That holds because nothing in the evaluator crosses keys: the
 * engine's state, its lateness (against the key's newest event) and the {@code as_of} queue are all
 * per key. With an {@code as_of} lag an event at {@code t} reads the key's state as of {@code t −
 * lag}: its events wait in a queue and are applied once a later event reads past them; those still
 * waiting after the key's last event are never applied, as in the evaluator.
 */
final class KeyReplay {
  private final EntityEngine engine;
  private final long lagMillis;
  private long late;

  KeyReplay(EntityEngine engine, long lagMillis) {
    this.engine = engine;
    this.lagMillis = lagMillis;
  }

  /**
   * Calls {@code out} with each event's values (the engine's feature order), for one key's events
   * in event-time order (ties in input order), from an empty state.
   */
  void replay(List<? extends IndexedRecord> events, ValuesOut out) {
    byte[] state = null;
    ArrayDeque<IndexedRecord> waiting = lagMillis == 0 ? null : new ArrayDeque<>();
    for (int i = 0; i < events.size(); i++) {
      IndexedRecord event = events.get(i);
      Object[] values;
      if (lagMillis == 0) {
        EntityEngine.Result r = engine.apply(state, event);
        if (r.late()) {
          late++;
        } else {
          state = r.newState();
        }
        values = r.values();
      } else {
        long asOf = engine.eventTimeOf(event) - lagMillis;
        while (!waiting.isEmpty() && engine.eventTimeOf(waiting.peekFirst()) < asOf) {
          EntityEngine.Result r = engine.apply(state, waiting.pollFirst());
          if (r.late()) {
            late++;
          } else {
            state = r.newState();
          }
        }
        values = engine.valuesAt(state, asOf);
        waiting.addLast(event);
      }
      out.accept(i, values);
    }
  }

  /** Late events so far (for {@code as_of} entities: when they were applied). */
  long late() {
    return late;
  }

  /** Receives the values of the {@code i}-th event. */
  interface ValuesOut {
    void accept(int i, Object[] values);
  }
}
