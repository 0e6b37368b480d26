package dev.vigil.transforms.batch;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.FeatureEventTypeInfo;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.avro.generic.IndexedRecord;
import org.apache.flink.api.common.accumulators.LongCounter;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.types.Row;
import org.apache.flink.util.Collector;

/**
 * One entity's features for every event with a key, one key at a time: keyed by the entity key in
 * BATCH mode, Flink sorts the input by key and hands over one key's events after another; they are
 * kept in keyed list state (the batch state backend holds only the current key's), and the timer
 * at the end of the key sorts them by (event time, ordinal) and replays them ({@link KeyReplay})
 * from an empty state. Memory: one key's events, not the dataset's. Emits one entity part ({@link
 * FeatureParts}) per event; counts events, keys and late events in accumulators.
 */
final class EntityParts extends KeyedProcessFunction<String, FeatureEvent, Row> {
  private static final long serialVersionUID = 1L;
  private static final Comparator<Timed> ORDER =
      Comparator.<Timed>comparingLong(t -> t.time).thenComparingLong(t -> t.event.seq);

  private final EntityEngine engine;
  private final int entityIndex;
  private final long lagMillis;
  /** Per feature of the entity, its field in the part. */
  private final int[] fields;
  private final int arity;
  private final String schemaJson;
  private transient ListState<FeatureEvent> events;
  private transient LongCounter processed;
  private transient LongCounter keys;
  private transient LongCounter late;

  /**
   * @param slots per feature of {@code engine}, its index among the spec's features
   * @param schemaJson the events' schema, for the state's serializer
   */
  EntityParts(EntityEngine engine, int entityIndex, long lagMillis, int[] slots, int arity,
      String schemaJson) {
    this.engine = engine;
    this.entityIndex = entityIndex;
    this.lagMillis = lagMillis;
    this.fields = new int[slots.length];
    for (int i = 0; i < slots.length; i++) {
      fields[i] = FeatureParts.VALUES + slots[i];
    }
    this.arity = arity;
    this.schemaJson = schemaJson;
  }

  @Override
  public void open(OpenContext context) {
    events = getRuntimeContext().getListState(
        new ListStateDescriptor<>("events", new FeatureEventTypeInfo(schemaJson, 0)));
    processed = getRuntimeContext().getLongCounter(BatchBackfill.entityCounter(engine.entity()));
    keys = getRuntimeContext().getLongCounter(BatchBackfill.entityCounter(engine.entity())
        + ".keys");
    late = getRuntimeContext().getLongCounter(BatchBackfill.LATE);
  }

  @Override
  public void processElement(FeatureEvent e, Context ctx, Collector<Row> out) throws Exception {
    events.add(e);
    // Fires when the input moves on to the next key (batch timer service); one per key.
    ctx.timerService().registerEventTimeTimer(Long.MAX_VALUE);
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<Row> out) throws Exception {
    List<Timed> timed = new ArrayList<>();
    for (FeatureEvent e : events.get()) {
      timed.add(new Timed(engine.eventTimeOf(e.event), e));
    }
    events.clear();
    timed.sort(ORDER);
    List<IndexedRecord> ordered = new ArrayList<>(timed.size());
    for (Timed t : timed) {
      ordered.add(t.event.event);
    }
    KeyReplay replay = new KeyReplay(engine, lagMillis);
    replay.replay(ordered, (i, values) -> {
      Timed t = timed.get(i);
      Row part = FeatureParts.part(arity, t.time, t.event.seq, entityIndex);
      for (int f = 0; f < fields.length; f++) {
        part.setField(fields[f], values[f]);
      }
      out.collect(part);
    });
    processed.add(ordered.size());
    keys.add(1);
    late.add(replay.late());
  }

  private record Timed(long time, FeatureEvent event) {}
}
