package dev.vigil.jobs;

import dev.vigil.avro.DeadLetter;
import dev.vigil.avro.Score;
import dev.vigil.models.ModelException;
import dev.vigil.models.ModelWatcher;
import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.FeaturePipeline;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.SpecException;
import java.time.Duration;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.SingleOutputStreamOperator;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The scoring job: Kafka in, features, model score, Kafka out, and every record accounted for
 * (records in = scored + dead letters).
 *
 * <ol>
 *   <li><b>source</b> ({@link OperatorUids#SOURCE}): Kafka {@code input.topic}, raw bytes with
 *       topic/partition/offset/timestamp ({@link RawRecord}), {@code isolation.level =
 *       read_committed}; offsets in checkpoint state. Each record is decoded in the deserializer
 *       ({@link RecordDecoder}), so that the watermarks, per partition ({@link #watermarks}:
 *       bounded out-of-orderness, idleness, alignment), see its event time.
 *   <li><b>decode + validate</b> ({@link OperatorUids#DECODE}, stateless, chained to the source):
 *       {@link DecodeFunction} routes the decoder's outcome; bad records → dead letters
 *       (not_framed, unknown_schema_id, undecodable, incompatible_writer_schema,
 *       missing_entity_key, missing_event_id, event_time_out_of_range, value_out_of_range, negative_amount). A registry outage is not a
 *       bad record: the source holds the record back and retries ({@link RegistryHoldBack}), and
 *       fails the task after {@code registry.outage.fail-after} (restart from the checkpoint).
 *   <li><b>feature stages</b> ({@link OperatorUids#features}(entity), one per entity, one after
 *       the other): keyed by the entity key; state: one tile value per key (dropped in event
 *       time after the entity's longest window plus its tail, or its {@code idle_ttl}), the events waiting for the
 *       watermark (event-time stages), and in the first stage the key's transaction ids of the
 *       dedupe horizon (TTL: {@code dedupe.horizon}). Order and lag per entity from the spec
 *       (docs/feature-spec.md, "Order and lag"): exact at any partitioning. Late policy: an event
 *       behind the watermark is applied at once, read from the state as it is, counted and
 *       scored; a transaction id seen within the horizon is marked duplicate.
 *   <li><b>score</b> ({@link OperatorUids#SCORE}, stateless): {@link ScoreFunction}; duplicates →
 *       dead letters, never scored; the rest → one Score + one FeatureVector.
 *   <li><b>sinks</b>: Kafka {@code scores.topic} ({@link OperatorUids#SINK_SCORES}), {@code
 *       features.topic} ({@link OperatorUids#SINK_FEATURES}), and, behind a per-reason counter
 *       ({@link OperatorUids#DEAD_LETTER_METRICS}), {@code dead-letters.topic} ({@link
 *       OperatorUids#SINK_DEAD_LETTERS}); each exactly-once (Kafka transactions committed on
 *       checkpoints) or at-least-once, per sink; a write the broker refuses restarts the job from
 *       its checkpoint ({@link FailSafeKafkaSink}). Failed checkpoints are tolerated up to {@code
 *       checkpoint.tolerable-failures} (docs/scoring-job.md, "Faults").
 * </ol>
 */
public final class ScoringJob {
  private static final Logger LOG = LoggerFactory.getLogger(ScoringJob.class);

  /** How long the start-up check waits for Kafka ({@link KafkaPreflight}). */
  static final java.time.Duration PREFLIGHT_TIMEOUT = java.time.Duration.ofSeconds(30);

  private ScoringJob() {}

  public static void main(String[] args) throws Exception {
    ScoringConfig config;
    CompiledSpec spec;
    try {
      config = ScoringConfig.fromArgs(args);
      spec = CompiledSpec.load(config.specPath());
      checkModels(config, spec);
      if (config.startupChecks()) {
        checkRegistrySecrets(config);
        KafkaPreflight.check(config, PREFLIGHT_TIMEOUT);
      }
    } catch (ConfigException | SpecException | ModelException e) {
      // Thrown, never System.exit: submitted through the REST API, main runs inside the
      // JobManager, and an exit would stop it (seen on the standalone cluster). `flink run`
      // prints the message and fails; the REST API answers 400 with it.
      System.err.println(e.getMessage());
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    LOG.info("starting the scoring job with {}", config);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
    String restoreFrom = env.getConfiguration()
        .get(org.apache.flink.configuration.StateRecoveryOptions.SAVEPOINT_PATH);
    String problem = restoreProblem(restoreFrom, spec, config);
    if (problem != null) {
      System.err.println(problem);
      throw new IllegalArgumentException(problem);
    }
    defineWorkflow(env, config, spec, source(env, config, null), Sinks.kafka(config));
    env.execute("vigil scoring: " + config.inputTopic());
  }

  /**
   * Why the job must not start from the savepoint at {@code path} (null: no savepoint, or nothing
   * against it): a savepoint written by the state tools carries a stamp ({@code
   * vigil-savepoint.json}) with the spec and max parallelism it was made for; another spec or max
   * parallelism would misread it. A savepoint of the job itself has no stamp: each feature stage
   * checks the spec it kept in its state when it restores (FeatureStage). Read through Flink's
   * file systems, so an s3:// savepoint is checked as a local one.
   */
  static String restoreProblem(String path, CompiledSpec spec, ScoringConfig config) {
    if (path == null || path.isBlank()) {
      return null;
    }
    com.fasterxml.jackson.databind.JsonNode json;
    org.apache.flink.core.fs.Path stamp = new org.apache.flink.core.fs.Path(path,
        "vigil-savepoint.json");
    try {
      org.apache.flink.core.fs.FileSystem fs = stamp.getFileSystem();
      if (!fs.exists(stamp)) {
        return null;
      }
      try (java.io.InputStream in = fs.open(stamp)) {
        json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(in);
      }
    } catch (java.io.IOException e) {
      LOG.warn("cannot read {} to check it against the spec: {}", stamp, e.toString());
      return null; // Flink reads the savepoint itself next, and fails on it if it must
    }
    String tool = json.path("tool").asText("a state tool");
    String fingerprint = json.path("spec_fingerprint").asText();
    if (!fingerprint.equals(spec.spec().fingerprint())) {
      return "the savepoint " + path + " was written by `vigil state " + tool + "` for another"
          + " feature spec (fingerprint " + fingerprint + ", entities "
          + json.path("entities").toString() + "), and spec " + config.specPath() + " is "
          + spec.spec().fingerprint() + ": its state would be misread. Start from a savepoint"
          + " made for this spec (`vigil state bootstrap`, or `vigil state add-feature` for"
          + " features added to the old one), or deploy the spec it was made for";
    }
    int mp = json.path("max_parallelism").asInt(-1);
    if (mp != config.maxParallelism()) {
      return "the savepoint " + path + " was written with max parallelism " + mp + " and the job"
          + " runs with max.parallelism " + config.maxParallelism() + ": its key groups would"
          + " not match. Set max.parallelism=" + mp + ", or bootstrap again with"
          + " --max-parallelism " + config.maxParallelism();
    }
    return null;
  }

  /**
   * Creates a registry client once, as each operator will in its open: it reads the referenced
   * password or token and the TLS stores, so a missing secret or a wrong store password fails
   * before the job is submitted. Nothing is kept.
   */
  static void checkRegistrySecrets(ScoringConfig config) throws ConfigException {
    try {
      new dev.vigil.schemas.registry.SchemaRegistryClient(config.registryConfig()).close();
    } catch (IllegalArgumentException e) {
      throw new ConfigException(java.util.List.of("the schema registry client: " + e.getMessage()));
    }
  }

  /** Loads the model (and shadow model) once, so a bad one fails before the job is submitted. */
  public static void checkModels(ScoringConfig config, CompiledSpec spec) throws ModelException {
    String name = spec.spec().modelName() == null ? "model" : spec.spec().modelName();
    try (ModelWatcher m = ModelWatcher.start(config.modelPath(), name, spec.spec().modelInputs(),
        config.modelPollInterval(), null)) {
      LOG.info("model {}", m.current().info());
    }
    if (config.shadowModelPath() != null) {
      try (ModelWatcher m = ModelWatcher.start(config.shadowModelPath(), name + "-shadow",
          spec.spec().modelInputs(), config.modelPollInterval(), null)) {
        LOG.info("shadow model {}", m.current().info());
      }
    }
  }

  /**
   * The Kafka source of {@code config}; {@code stopping} bounds it (tests, replays), null reads
   * forever. Each record is decoded in the source ({@link RecordDecoder}), so that the source's
   * per-partition watermarks ({@link #watermarks}) see its event time.
   */
  public static KafkaSource<RawRecord> kafkaSource(ScoringConfig config, RecordDecoder decoder,
      OffsetsInitializer stopping) {
    var builder = KafkaSource.<RawRecord>builder()
        // kafka.* and source.kafka.* (security, tuning) first: the job's own settings win
        .setProperties(config.kafkaProperties(ScoringConfig.KafkaClient.SOURCE))
        .setBootstrapServers(config.bootstrapServers())
        .setTopics(config.inputTopic())
        .setGroupId(config.groupId())
        .setStartingOffsets(config.startingOffsets().initializer())
        .setDeserializer(new RawRecordDeserializer(decoder))
        .setProperty("isolation.level", "read_committed")
        .setProperty("commit.offsets.on.checkpoint", "true");
    if (stopping != null) {
      builder.setBounded(stopping);
    }
    return builder.build();
  }

  /**
   * Event time per partition: the watermark trails each partition's newest event time by {@code
   * watermark.out-of-orderness}; a partition quiet for {@code watermark.idle-timeout} stops holding
   * it back (before its first record, after a longer grace: {@link PartitionWatermarks}); in a catch-up a partition more than {@code watermark.alignment.max-drift} ahead of the
   * slowest is paused (split-level alignment), so what the stages hold back stays bounded.
   */
  public static WatermarkStrategy<RawRecord> watermarks(ScoringConfig.Watermarks w,
      RecordDecoder decoder) {
    Duration bound = w.outOfOrderness();
    Duration idle = w.idleTimeout(); // the lambda is serialized: capture no config record
    return WatermarkStrategy.<RawRecord>forGenerator(context -> new PartitionWatermarks(
            bound, idle, context.getInputActivityClock()))
        .withTimestampAssigner(context -> RawRecordDeserializer.eventTime(decoder))
        .withWatermarkAlignment("vigil-input", w.maxDrift(),
            w.interval().compareTo(Duration.ofSeconds(1)) < 0 ? w.interval().multipliedBy(4)
                : w.interval());
  }

  /**
   * {@link #kafkaSource} in {@code env}, with its uid and watermarks; the spec of {@code config}
   * tells the decoder what to read.
   */
  public static DataStream<RawRecord> source(StreamExecutionEnvironment env,
      ScoringConfig config, OffsetsInitializer stopping) {
    RecordDecoder decoder = decoder(config, loadSpec(config));
    // The job's parallelism, set here and not only by defineWorkflow: a source at another
    // parallelism than the decoder behind it is not chained to it, the records are dealt round
    // robin, and a partition's order (what an arrival-ordered stage relies on) is lost.
    return env.fromSource(kafkaSource(config, decoder, stopping),
            watermarks(config.watermarks(), decoder), "kafka: " + config.inputTopic())
        .setParallelism(config.parallelism())
        .uid(OperatorUids.SOURCE);
  }

  private static CompiledSpec loadSpec(ScoringConfig config) {
    try {
      return CompiledSpec.load(config.specPath());
    } catch (SpecException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
  }

  /** The decoder of {@code spec}'s records under {@code config}. */
  public static RecordDecoder decoder(ScoringConfig config, CompiledSpec spec) {
    return new RecordDecoder(config.registryConfig(), spec, Envelope.compile(spec),
        config.futureTolerance(), config.registryHoldBack());
  }

  /**
   * Builds the job's graph on {@code source} into {@code sinks}; sets the parallelism, max
   * parallelism, checkpoint interval and no-Kryo rule from {@code config}. Pure: tests plug in
   * their own source and sinks.
   */
  public static void defineWorkflow(StreamExecutionEnvironment env, ScoringConfig config,
      CompiledSpec spec, DataStream<RawRecord> source, Sinks sinks) {
    defineWorkflow(env, config, spec, source, sinks, null);
  }

  /** As above, the score operator calling {@code scoreProbe} before each event (tests). */
  static void defineWorkflow(StreamExecutionEnvironment env, ScoringConfig config,
      CompiledSpec spec, DataStream<RawRecord> source, Sinks sinks,
      ElementProbe<FeatureEvent> scoreProbe) {
    env.setParallelism(config.parallelism());
    env.setMaxParallelism(config.maxParallelism());
    // pipeline.generic-types: false, so a silent Kryo fallback fails at graph building
    env.configure(new Configuration().set(PipelineOptions.GENERIC_TYPES, false));
    env.enableCheckpointing(config.checkpointInterval().toMillis());
    // A failing checkpoint storage fails checkpoints, not the job: the data keeps flowing and the
    // exactly-once results wait for the next completed checkpoint (Flink's default, 0, restarts
    // the job on the first failed checkpoint and replays everything since the last one).
    env.configure(new Configuration().set(CheckpointingOptions.TOLERABLE_FAILURE_NUMBER,
        config.tolerableCheckpointFailures()));
    // Bounded, so that transaction.timeout can be checked against it (ScoringConfig): a checkpoint
    // that hangs for Flink's default 10 min would hold its transactions open that long.
    env.configure(new Configuration().set(CheckpointingOptions.CHECKPOINTING_TIMEOUT,
        config.checkpointTimeout()));
    env.configure(new Configuration()
        .set(PipelineOptions.AUTO_WATERMARK_INTERVAL, config.watermarks().interval()));
    env.setBufferTimeout(config.bufferTimeout().toMillis());
    // Chained operators hand records on instead of deep-copying them (Avro copies were a seventh
    // of the scoring task's time): no operator here keeps or changes a record it has emitted.
    env.getConfig().enableObjectReuse();

    CompiledSpec envelope = Envelope.compile(spec);
    SingleOutputStreamOperator<FeatureEvent> decoded = source
        .process(new DecodeFunction(decoder(config, spec)), FeaturePipeline.typeOf(envelope))
        .uid(OperatorUids.DECODE)
        .name("decode + validate");

    FeaturePipeline.Stages stages =
        FeaturePipeline.defineWorkflow(decoded, envelope, config.dedupeHorizon(),
            !config.emptyStartAllowed(), Seq::partition);

    SingleOutputStreamOperator<Score> scores = stages.output()
        .process(new ScoreFunction(envelope, config.inputTopic(), config.modelPath(),
            config.shadowModelPath(), config.modelPollInterval(), config.thresholds(),
            config.dedupeHorizon(), config.onModelError())
            .withRecoveryBudget(RecoveryBudget.of(config)).withProbe(scoreProbe),
            ScoreFunction.SCORE_TYPE)
        .uid(OperatorUids.SCORE)
        .name("score");

    scores.sinkTo(sinks.scores())
        .uid(OperatorUids.SINK_SCORES)
        .name("scores: " + config.scoresTopic());
    scores.getSideOutput(ScoreFunction.FEATURES)
        .sinkTo(sinks.features())
        .uid(OperatorUids.SINK_FEATURES)
        .name("feature vectors: " + config.featuresTopic());
    DataStream<DeadLetter> deadLetters = decoded.getSideOutput(DeadLetters.TAG)
        .union(scores.getSideOutput(DeadLetters.TAG));
    deadLetters
        .map(new DeadLetterMetrics(), DeadLetters.TYPE)
        .uid(OperatorUids.DEAD_LETTER_METRICS)
        .name("dead letters: count per reason")
        .sinkTo(sinks.deadLetters())
        .uid(OperatorUids.SINK_DEAD_LETTERS)
        .name("dead letters: " + config.deadLettersTopic());
  }
}
