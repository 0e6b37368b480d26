package dev.vigil.transforms.offline;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.spec.CompiledSpec;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.IndexedRecord;

/**
 * Point-in-time-correct feature vectors offline: events fed in event-time order through the same
 * {@link EntityEngine}s the streaming job runs, with each key's state in a map. What it returns
 * for an event is what the stream computed for it, by construction.
 */
public final class PointInTimeEvaluator {
  private final CompiledSpec spec;
  private final List<EntityEngine> engines;
  private final List<Map<String, byte[]>> states;
  private final int[][] slots;
  private final int featureCount;
  private final int idPos;
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
      EntityEngine.Result r = engine.apply(state.get(key), event);
      if (r.late()) {
        late++;
      } else {
        state.put(key, r.newState());
      }
      int[] slot = slots[e];
      for (int i = 0; i < slot.length; i++) {
        values[slot[i]] = r.values()[i];
      }
    }
    Object id = idPos < 0 ? null : event.get(idPos);
    return new FeatureRow(id == null ? null : id.toString(), t, values);
  }

  /** Events that were late for at least one entity. */
  public long lateCount() {
    return late;
  }

  /** The state of every key of {@code entity}, for savepoint tools and inspection. */
  public Map<String, byte[]> states(String entity) {
    for (int e = 0; e < engines.size(); e++) {
      if (engines.get(e).entity().equals(entity)) {
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
