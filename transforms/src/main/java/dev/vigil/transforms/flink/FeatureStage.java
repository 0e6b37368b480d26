package dev.vigil.transforms.flink;

import dev.vigil.transforms.engine.EntityEngine;
import java.time.Duration;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
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
 *
 * <p>Dedupe (when a horizon is given): {@link FeatureStates#dedupe} holds the key's transaction
 * ids of the horizon; an event whose id is there is a producer retry: marked {@code duplicate},
 * state untouched, null values, counted in {@code vigil.features.<entity>.duplicates}. It is done
 * here, per entity key, rather than by a {@code keyBy(transaction_id)} in front of the stages,
 * because such a shuffle would interleave each card's events from several subtasks and lose the
 * per-key order that makes streaming equal the offline backfill.
 */
public final class FeatureStage extends KeyedProcessFunction<String, FeatureEvent, FeatureEvent> {
  private static final long serialVersionUID = 2L;

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
  private transient ValueState<byte[]> state;
  private transient MapState<String, Long> seen;
  private transient Counter lateCounter;
  private transient Counter missingKey;
  private transient Counter duplicates;

  public FeatureStage(EntityEngine engine, int[] slots, OutputTag<FeatureEvent> late) {
    this(engine, slots, late, -1, null);
  }

  /**
   * With dedupe: {@code idPos} is the transaction id's field position, {@code dedupeHorizon} how
   * long an id is remembered.
   */
  public FeatureStage(EntityEngine engine, int[] slots, OutputTag<FeatureEvent> late, int idPos,
      Duration dedupeHorizon) {
    this.engine = engine;
    this.slots = slots;
    this.late = late;
    this.idPos = idPos;
    this.dedupeHorizon = dedupeHorizon;
  }

  @Override
  public void open(OpenContext context) {
    state = getRuntimeContext().getState(FeatureStates.features(engine));
    if (idPos >= 0) {
      seen = getRuntimeContext().getMapState(FeatureStates.dedupe(dedupeHorizon));
    }
    var group = getRuntimeContext().getMetricGroup().addGroup("vigil").addGroup("features")
        .addGroup(engine.entity());
    lateCounter = group.counter("late");
    missingKey = group.counter("missing_key");
    duplicates = group.counter("duplicates");
  }

  @Override
  public void processElement(FeatureEvent e, Context ctx, Collector<FeatureEvent> out)
      throws Exception {
    if (ctx.getCurrentKey().isEmpty()) {
      missingKey.inc();
      out.collect(e);
      return;
    }
    String id = null;
    if (seen != null) {
      Object v = e.event.get(idPos);
      id = v == null ? "" : v.toString();
      if (seen.contains(id)) {
        e.duplicate = true;
        duplicates.inc();
        out.collect(e);
        return;
      }
    }
    EntityEngine.Result r = engine.apply(state.value(), e.event);
    if (r.late()) {
      e.late = true;
      lateCounter.inc();
      ctx.output(late, e);
    } else {
      state.update(r.newState());
      if (seen != null) {
        seen.put(id, engine.eventTimeOf(e.event));
      }
    }
    Object[] values = r.values();
    for (int i = 0; i < slots.length; i++) {
      e.values[slots[i]] = values[i];
    }
    out.collect(e);
  }
}
