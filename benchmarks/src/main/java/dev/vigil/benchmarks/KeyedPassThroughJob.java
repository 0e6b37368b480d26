package dev.vigil.benchmarks;

import dev.vigil.avro.Score;
import dev.vigil.jobs.DecodeFunction;
import dev.vigil.jobs.Envelope;
import dev.vigil.jobs.RawRecord;
import dev.vigil.jobs.ScoreFunction;
import dev.vigil.jobs.ScoringConfig;
import dev.vigil.jobs.ScoringJob;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.flink.EntityKeySelector;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.FeatureEventTypeInfo;
import dev.vigil.transforms.flink.FeaturePipeline;
import dev.vigil.transforms.spec.CompiledSpec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/**
 * The fair ceiling of {@code vigil bench pipeline} (contender {@code keyed_pass_through}): the
 * scoring job's shape without its work. The job's Kafka source and {@link DecodeFunction}, then per
 * entity of the spec, in the spec's order (the example: card, then merchant), {@code
 * keyBy(entity key)} with the job's own {@link EntityKeySelector} and the job's record type across
 * the exchange, and a trivial keyed operator ({@link TouchState}: one {@code ValueState} read and
 * one write per event, in the job's state backend), then a Score-like record ({@link
 * PassThroughJob.ToScore}) into the job's scores sink. The same exchanges and guarantees as the
 * scoring job; no features, no dedupe, no event-time wait, no model, one output record per event
 * (the scoring job writes two: a Score and a FeatureVector). Same environment settings as {@code
 * ScoringJob.defineWorkflow} (parallelism, max parallelism, no Kryo, checkpoint interval,
 * watermark interval, object reuse).
 */
final class KeyedPassThroughJob {
  static final String UID_DECODE = "bench-keyed-pass-through-decode-v1";
  static final String UID_ENCODE = "bench-keyed-pass-through-encode-v1";
  static final String UID_SINK = "bench-keyed-pass-through-sink-v1";

  private KeyedPassThroughJob() {}

  /** The uid of the keyed stage of {@code entity}. */
  static String uidStage(String entity) {
    return "bench-keyed-pass-through-" + entity + "-v1";
  }

  static void defineWorkflow(StreamExecutionEnvironment env, ScoringConfig config,
      CompiledSpec spec, DataStream<RawRecord> source, Sink<Score> scores) {
    env.setParallelism(config.parallelism());
    env.setMaxParallelism(config.maxParallelism());
    env.configure(new Configuration().set(PipelineOptions.GENERIC_TYPES, false));
    env.enableCheckpointing(config.checkpointInterval().toMillis());
    env.configure(new Configuration()
        .set(PipelineOptions.AUTO_WATERMARK_INTERVAL, config.watermarks().interval()));
    env.getConfig().enableObjectReuse();
    CompiledSpec envelope = Envelope.compile(spec);
    FeatureEventTypeInfo type = FeaturePipeline.typeOf(envelope);
    DataStream<FeatureEvent> stream = source
        .process(new DecodeFunction(ScoringJob.decoder(config, spec)), type)
        .uid(UID_DECODE)
        .name("decode + validate");
    for (EntityEngine engine : envelope.engines()) {
      stream = stream
          .keyBy(new EntityKeySelector(engine))
          .process(new TouchState(), type)
          .uid(uidStage(engine.entity()))
          .name("keyed pass-through: " + engine.entity());
    }
    stream
        .map(new PassThroughJob.ToScore(envelope), ScoreFunction.SCORE_TYPE)
        .uid(UID_ENCODE)
        .name("encode: Score (no features, no model)")
        .sinkTo(scores)
        .uid(UID_SINK)
        .name("scores: " + config.scoresTopic());
  }

  /** Per event: reads its key's count, writes it back plus one, forwards the event unchanged. */
  static final class TouchState extends KeyedProcessFunction<String, FeatureEvent, FeatureEvent> {
    private static final long serialVersionUID = 1L;
    private transient ValueState<Long> count;

    @Override
    public void open(OpenContext context) {
      count = getRuntimeContext().getState(new ValueStateDescriptor<>("count", Types.LONG));
    }

    @Override
    public void processElement(FeatureEvent e, Context ctx, Collector<FeatureEvent> out)
        throws Exception {
      Long n = count.value();
      count.update(n == null ? 1L : n + 1);
      out.collect(e);
    }
  }
}
