package dev.vigil.transforms.flink;

import dev.vigil.transforms.engine.EntityEngine;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.metrics.Counter;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;

/**
 * One entity's features (keyed by its key): one state read and one write per event, values as of
 * just before the event written into the event's slots, then passed on.
 *
 * <p>State: {@link FeatureStates#features} (TTL: the entity's longest window). Late policy: an
 * event older than its key's newest by more than the longest window leaves the state untouched,
 * gets null values, is marked late, is copied to the {@link #lateTag late} side output and counted in
 * {@code vigil.features.<entity>.late}. An event with no key for this entity passes with nulls.
 */
public final class FeatureStage extends KeyedProcessFunction<String, FeatureEvent, FeatureEvent> {
  private static final long serialVersionUID = 1L;

  /** Late events, as they left the stage. */
  public static OutputTag<FeatureEvent> lateTag(FeatureEventTypeInfo type) {
    return new OutputTag<>("late", type);
  }

  private final EntityEngine engine;
  private final int[] slots;
  private final OutputTag<FeatureEvent> late;
  private transient ValueState<byte[]> state;
  private transient Counter lateCounter;
  private transient Counter missingKey;

  public FeatureStage(EntityEngine engine, int[] slots, OutputTag<FeatureEvent> late) {
    this.engine = engine;
    this.slots = slots;
    this.late = late;
  }

  @Override
  public void open(OpenContext context) {
    state = getRuntimeContext().getState(FeatureStates.features(engine));
    var group = getRuntimeContext().getMetricGroup().addGroup("vigil").addGroup("features")
        .addGroup(engine.entity());
    lateCounter = group.counter("late");
    missingKey = group.counter("missing_key");
  }

  @Override
  public void processElement(FeatureEvent e, Context ctx, Collector<FeatureEvent> out)
      throws Exception {
    if (ctx.getCurrentKey().isEmpty()) {
      missingKey.inc();
      out.collect(e);
      return;
    }
    EntityEngine.Result r = engine.apply(state.value(), e.event);
    if (r.late()) {
      e.late = true;
      lateCounter.inc();
      ctx.output(late, e);
    } else {
      state.update(r.newState());
    }
    Object[] values = r.values();
    for (int i = 0; i < slots.length; i++) {
      e.values[slots[i]] = values[i];
    }
    out.collect(e);
  }
}
