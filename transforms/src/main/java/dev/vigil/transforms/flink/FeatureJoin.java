package dev.vigil.transforms.flink;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Fan-in of the entity stages: each stage fills its own slots of a copy of the event; keyed by the
 * event's {@code seq}, this waits for all {@code branches} copies, merges their values, emits the
 * event once and clears the key. State lives only while an event is in flight.
 */
public final class FeatureJoin extends KeyedProcessFunction<Long, FeatureEvent, FeatureEvent> {
  private static final long serialVersionUID = 1L;
  private final int branches;
  private final FeatureEventTypeInfo type;
  private transient ValueState<FeatureEvent> partial;
  private transient ValueState<Integer> seen;

  public FeatureJoin(int branches, FeatureEventTypeInfo type) {
    this.branches = branches;
    this.type = type;
  }

  /** State descriptors of the join (names are part of the savepoint layout). */
  public static ValueStateDescriptor<FeatureEvent> partialDescriptor(FeatureEventTypeInfo type) {
    return new ValueStateDescriptor<>("partial", type);
  }

  @Override
  public void open(OpenContext context) {
    partial = getRuntimeContext().getState(partialDescriptor(type));
    seen = getRuntimeContext().getState(new ValueStateDescriptor<>("seen", Integer.class));
  }

  @Override
  public void processElement(FeatureEvent e, Context ctx, Collector<FeatureEvent> out)
      throws Exception {
    FeatureEvent merged = partial.value();
    if (merged == null) {
      merged = e;
    } else {
      for (int i = 0; i < e.values.length; i++) {
        if (e.values[i] != null) {
          merged.values[i] = e.values[i];
        }
      }
      merged.late |= e.late;
    }
    Integer count = seen.value();
    int now = (count == null ? 0 : count) + 1;
    if (now == branches) {
      partial.clear();
      seen.clear();
      out.collect(merged);
    } else {
      partial.update(merged);
      seen.update(now);
    }
  }
}
