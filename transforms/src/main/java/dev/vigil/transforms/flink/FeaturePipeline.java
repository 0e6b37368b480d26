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
 * The feature stages of a spec, as a piece of a pipeline: {@code keyBy(entity key) → FeatureStage}
 * (its write-behind cache sized by {@link FeatureOptions#CACHE_KEYS})
 * for each entity, each with its stable uid, then (with several entities) {@code keyBy(seq) →
 * FeatureJoin} to put each event's values back together. Pure: tests plug in bounded sources.
 *
 * <p>Why fan-out and fan-in rather than one stage after the other: a stage keyed by merchant behind
 * a stage keyed by card at parallelism &gt; 1 receives a merchant's events from several upstream
 * subtasks, interleaved in any order, so per-key order (what makes streaming equal to offline) would
 * be lost. Reading every stage straight from the source keeps each key's events in source order.
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

  /** Keys by the event's position in the input. */
  public static final class SeqKeySelector
      implements org.apache.flink.api.java.functions.KeySelector<FeatureEvent, Long> {
    private static final long serialVersionUID = 1L;

    @Override
    public Long getKey(FeatureEvent e) {
      return e.seq;
    }
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
  @SuppressWarnings("unchecked")
  public static Stages defineWorkflow(
      DataStream<FeatureEvent> events, CompiledSpec spec, Duration dedupeHorizon) {
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
    int cacheKeys = events.getExecutionEnvironment().getConfiguration()
        .get(FeatureOptions.CACHE_KEYS);
    List<EntityEngine> engines = spec.engines();
    List<DataStream<FeatureEvent>> branches = new ArrayList<>();
    List<DataStream<FeatureEvent>> late = new ArrayList<>();
    for (EntityEngine engine : engines) {
      int[] slots = engine.featureNames().stream().mapToInt(all::indexOf).toArray();
      var lateTag = FeatureStage.lateTag(type);
      SingleOutputStreamOperator<FeatureEvent> stage =
          events
              .keyBy(new EntityKeySelector(engine))
              .transform("features: " + engine.entity(), type,
                  new FeatureStage(engine, slots, lateTag, idPos, dedupeHorizon, cacheKeys))
              .uid(OperatorUids.features(engine.entity()))
              .name("features: " + engine.entity());
      late.add(stage.getSideOutput(lateTag));
      branches.add(stage);
    }
    DataStream<FeatureEvent> stream = branches.get(0);
    if (branches.size() > 1) {
      DataStream<FeatureEvent> union = stream.union(
          branches.subList(1, branches.size()).toArray(new DataStream[0]));
      stream = union
          .keyBy(new SeqKeySelector())
          .transform("features: join", type, new FeatureJoin(branches.size(), type))
          .uid(OperatorUids.FEATURES_JOIN)
          .name("features: join");
    }
    return new Stages(stream, late);
  }
}
