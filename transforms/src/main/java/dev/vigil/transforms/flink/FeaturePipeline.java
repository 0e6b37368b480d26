package dev.vigil.transforms.flink;

import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.CompiledSpec;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;

/**
 * The feature stages of a spec, as a piece of a pipeline, one after the other: {@code keyBy(first
 * entity's key) → FeatureStage → keyBy(next entity's key) → FeatureStage → …}, each with its stable
 * uid and its write-behind cache sized by {@link FeatureOptions#CACHE_KEYS}. Pure: tests plug in
 * bounded sources.
 *
 * <p>Why a chain is exact at any parallelism: an event-time stage applies its key's events in
 * event-time order once the watermark has passed them and emits them in that order, so whatever
 * the interleaving of the subtasks in front of it, each key sees the same sequence as the offline
 * evaluator ({@link dev.vigil.transforms.spec.EntityTiming}). Only the first stage may take events
 * in arrival order (the entity the input is partitioned by). Dedupe happens once, in the first
 * stage; a later stage passes a duplicate on untouched.
 */
public final class FeaturePipeline {
  private FeaturePipeline() {}

  /** The source field that identifies an event for dedupe. */
  public static final String ID_FIELD = "transaction_id";

  /** The stages' output and their late side outputs. */
  public record Stages(DataStream<FeatureEvent> output, List<DataStream<FeatureEvent>> late) {}

  /** The type of the events flowing through the stages of {@code spec}. */
  public static FeatureEventTypeInfo typeOf(CompiledSpec spec) {
    return new FeatureEventTypeInfo(spec.schema().toString(), spec.spec().features().size());
  }

  /** The stages without dedupe: every event counts (files, benchmarks). */
  public static Stages defineWorkflow(DataStream<FeatureEvent> events, CompiledSpec spec) {
    return defineWorkflow(events, spec, null);
  }

  /**
   * The stages, each dropping producer retries: an event whose {@value #ID_FIELD} its key saw
   * within {@code dedupeHorizon} is marked {@link FeatureEvent#duplicate} and not counted (null: no
   * dedupe). See {@link FeatureStage} for why dedupe happens per entity key.
   */
  public static Stages defineWorkflow(
      DataStream<FeatureEvent> events, CompiledSpec spec, Duration dedupeHorizon) {
    return defineWorkflow(events, spec, dedupeHorizon, events.getExecutionEnvironment()
        .getConfiguration().get(FeatureOptions.EMPTY_START_REFUSED));
  }

  /**
   * As above; {@code refuseEmptyStart}: a stage that starts without restored state fails the job
   * ({@link FeatureOptions#EMPTY_START_REFUSED}).
   */
  public static Stages defineWorkflow(DataStream<FeatureEvent> events, CompiledSpec spec,
      Duration dedupeHorizon, boolean refuseEmptyStart) {
    return defineWorkflow(events, spec, dedupeHorizon, refuseEmptyStart, null);
  }

  /**
   * As above; {@code partitionOfSeq} (null: none): each event-time stage counts its waiting events
   * per input partition ({@link FeatureStage#countInFlight}).
   */
  public static Stages defineWorkflow(DataStream<FeatureEvent> events, CompiledSpec spec,
      Duration dedupeHorizon, boolean refuseEmptyStart, FeatureStage.SeqPartition partitionOfSeq) {
    int idPos = -1;
    if (dedupeHorizon != null) {
      if (dedupeHorizon.isNegative() || dedupeHorizon.isZero()) {
        throw new IllegalArgumentException("dedupe horizon must be positive, got " + dedupeHorizon);
      }
      var field = spec.schema().getField(ID_FIELD);
      if (field == null) {
        throw new IllegalArgumentException("dedupe needs a '" + ID_FIELD + "' field in the source"
            + " schema " + spec.schema().getFullName());
      }
      idPos = field.pos();
    }
    FeatureEventTypeInfo type = typeOf(spec);
    List<String> all = spec.spec().featureNames();
    var options = events.getExecutionEnvironment().getConfiguration();
    int cacheKeys = options.get(FeatureOptions.CACHE_KEYS);
    Duration maxWait = options.get(FeatureOptions.MAX_WAIT);
    List<EntityEngine> engines = spec.engines();
    List<DataStream<FeatureEvent>> late = new ArrayList<>();
    DataStream<FeatureEvent> stream = events;
    for (int n = 0; n < engines.size(); n++) {
      EntityEngine engine = engines.get(n);
      int[] slots = engine.featureNames().stream().mapToInt(all::indexOf).toArray();
      var lateTag = FeatureStage.lateTag(type);
      SingleOutputStreamOperator<FeatureEvent> stage =
          stream
              .keyBy(new EntityKeySelector(engine))
              .transform("features: " + engine.entity(), type,
                  new FeatureStage(engine, slots, lateTag, n == 0 ? idPos : -1,
                      n == 0 ? dedupeHorizon : null, cacheKeys,
                      spec.spec().timingOf(engine.entity()), type, maxWait)
                      .refuseEmptyStart(refuseEmptyStart)
                      .countInFlight(partitionOfSeq))
              .uid(OperatorUids.features(engine.entity()))
              .name("features: " + engine.entity());
      late.add(stage.getSideOutput(lateTag));
      stream = stage;
    }
    return new Stages(stream, late);
  }
}
