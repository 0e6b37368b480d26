package dev.vigil.transforms.flink;

import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.typeutils.TupleTypeInfo;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Fan-in of the entity stages: each stage fills its own slots of a copy of the event; keyed by the
 * event's {@code seq}, this waits for all {@code branches} copies, merges their values, emits the
 * event once and clears the key. State lives only while an event is in flight.
 *
 * <p>One state value (copies seen so far, merged event) so that an event costs one read and one
 * write or delete per copy: on RocksDB every state access is a native call.
 */
public final class FeatureJoin extends KeyedProcessFunction<Long, FeatureEvent, FeatureEvent> {
  private static final long serialVersionUID = 1L;
  private final int branches;
  private final FeatureEventTypeInfo type;
  private transient ValueState<Tuple2<Integer, FeatureEvent>> pending;

  public FeatureJoin(int branches, FeatureEventTypeInfo type) {
    this.branches = branches;
    this.type = type;
  }

  /** The join's state: copies seen so far and their merged values (name in the savepoint). */
  public static ValueStateDescriptor<Tuple2<Integer, FeatureEvent>> pendingDescriptor(
      FeatureEventTypeInfo type) {
    return new ValueStateDescriptor<>("pending", new TupleTypeInfo<>(Types.INT, type));
  }

  @Override
  public void open(OpenContext context) {
    pending = getRuntimeContext().getState(pendingDescriptor(type));
  }

  @Override
  public void processElement(FeatureEvent e, Context ctx, Collector<FeatureEvent> out)
      throws Exception {
    Tuple2<Integer, FeatureEvent> seen = pending.value();
    if (seen == null) {
      seen = Tuple2.of(0, e);
    } else {
      FeatureEvent merged = seen.f1;
      for (int i = 0; i < e.values.length; i++) {
        if (e.values[i] != null) {
          merged.values[i] = e.values[i];
        }
      }
      merged.late |= e.late;
      merged.duplicate |= e.duplicate;
    }
    seen.f0 += 1;
    if (seen.f0 == branches) {
      pending.clear();
      out.collect(seen.f1);
    } else {
      pending.update(seen);
    }
  }
}
