package dev.vigil.benchmarks;

import dev.vigil.avro.Decision;
import dev.vigil.avro.Score;
import dev.vigil.jobs.DecodeFunction;
import dev.vigil.jobs.ScoringJob;
import dev.vigil.jobs.Envelope;
import dev.vigil.jobs.RawRecord;
import dev.vigil.jobs.ScoreFunction;
import dev.vigil.jobs.ScoringConfig;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.FeaturePipeline;
import dev.vigil.transforms.spec.CompiledSpec;
import java.time.Instant;
import java.util.Map;
import org.apache.avro.generic.IndexedRecord;
import org.apache.flink.api.common.functions.MapFunction;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The ceiling of {@code vigil bench pipeline}: the scoring job's Kafka source, its decode +
 * validate step (wire format + registry), a Score-like record per event (no features, no model)
 * and the job's scores sink. Every operator chains: no shuffle, no state. Same environment settings
 * as {@code ScoringJob.defineWorkflow} (parallelism, max parallelism, no Kryo, checkpoint interval).
 */
final class PassThroughJob {
  static final String UID_DECODE = "bench-pass-through-decode-v1";
  static final String UID_ENCODE = "bench-pass-through-encode-v1";
  static final String UID_SINK = "bench-pass-through-sink-v1";
  static final String MODEL_VERSION = "pass-through";

  private PassThroughJob() {}

  static void defineWorkflow(StreamExecutionEnvironment env, ScoringConfig config,
      CompiledSpec spec, DataStream<RawRecord> source, Sink<Score> scores) {
    env.setParallelism(config.parallelism());
    env.setMaxParallelism(config.maxParallelism());
    env.configure(new Configuration().set(PipelineOptions.GENERIC_TYPES, false));
    env.enableCheckpointing(config.checkpointInterval().toMillis());
    CompiledSpec envelope = Envelope.compile(spec);
    source
        .process(new DecodeFunction(ScoringJob.decoder(config, spec)),
            FeaturePipeline.typeOf(envelope))
        .uid(UID_DECODE)
        .name("decode + validate")
        .map(new ToScore(envelope), ScoreFunction.SCORE_TYPE)
        .uid(UID_ENCODE)
        .name("encode: Score (no features, no model)")
        .sinkTo(scores)
        .uid(UID_SINK)
        .name("scores: " + config.scoresTopic());
  }

  /** A Score with the event's id and time, a constant score and no features. */
  static final class ToScore implements MapFunction<FeatureEvent, Score> {
    private static final long serialVersionUID = 1L;
    private final int idPos;
    private final int timePos;

    ToScore(CompiledSpec envelope) {
      this.idPos = envelope.schema().getField("transaction_id").pos();
      this.timePos = envelope.eventTime().position();
    }

    @Override
    public Score map(FeatureEvent e) {
      IndexedRecord r = e.event;
      Object t = r.get(timePos);
      Instant time = t instanceof Instant i ? i : Instant.ofEpochMilli(((Number) t).longValue());
      return new Score(r.get(idPos).toString(), time, Instant.ofEpochMilli(System.currentTimeMillis()),
          MODEL_VERSION, 0.0, Decision.APPROVE, Map.of(), null);
    }
  }
}
