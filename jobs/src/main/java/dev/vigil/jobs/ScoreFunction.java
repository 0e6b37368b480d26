package dev.vigil.jobs;

import dev.vigil.avro.DeadLetter;
import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Score;
import dev.vigil.avro.ShadowScore;
import dev.vigil.models.ModelException;
import dev.vigil.models.ModelInfo;
import dev.vigil.models.ModelWatcher;
import dev.vigil.models.Scorer;
import dev.vigil.models.Thresholds;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.PartitionCounts;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.generic.IndexedRecord;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;
import org.apache.flink.util.OutputTag;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Scores each event that left the feature stages, or dead-letters it: an event marked {@link
 * FeatureEvent#duplicate} (a producer retry, its features not counted) is never scored; it goes to
 * {@link DeadLetters#TAG} with its original bytes. A {@link FeatureEvent#late} event is scored. Every other event gives one {@link Score} (main output) and one {@link
 * FeatureVector} ({@link #FEATURES}).
 *
 * <p>The model input vector follows the spec's {@code model.inputs}; a null feature is {@code
 * NaN} (missing), a string one too. The model is a {@link ModelWatcher} per subtask: a new file in
 * the model location is swapped in without a restart, a broken one is refused and the current
 * model keeps scoring. A shadow model, when configured, is scored beside and recorded in {@code
 * Score.shadow}, never deciding. No state.
 *
 * <p>Scoring fails closed. A model that throws, or scores something that is not a probability
 * in [0, 1] (NaN, infinite, out of range), never approves and never fails the job (a restart would
 * meet the same record again, forever): the event becomes a {@code model_error} dead letter with
 * the exception or the score in its message ({@link OnModelError#DEAD_LETTER}, the default), or a
 * Score with decision REVIEW and the score NaN ({@link OnModelError#REVIEW}). A shadow model's
 * error leaves {@code Score.shadow} out and counts in {@code shadow_errors}. Models whose scores
 * are margins are refused when they load, and every model scores a canary vector then ({@link
 * dev.vigil.models.ModelLoader#load}).
 *
 * <p>Metrics (group {@code vigil}): {@code scored}, {@code scoring_latency_ms} (Kafka timestamp
 * of the record to its score), {@code model_swaps}, {@code model_refusals}, {@code model_errors},
 * {@code shadow_errors}; {@code reconcile.partition.<p>.scored}, as of the last completed
 * checkpoint ({@link PartitionCounts}).
 */
public final class ScoreFunction extends ProcessFunction<FeatureEvent, Score>
    implements CheckpointedFunction, CheckpointListener {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(ScoreFunction.class);

  public static final TypeInformation<Score> SCORE_TYPE = new AvroTypeInfo<>(Score.class);
  public static final TypeInformation<FeatureVector> FEATURES_TYPE =
      new AvroTypeInfo<>(FeatureVector.class);
  /** The feature vector of every scored event. */
  public static final OutputTag<FeatureVector> FEATURES =
      new OutputTag<>("feature-vectors", FEATURES_TYPE);

  private final String topic;
  private final String modelName;
  private final List<String> featureNames;
  private final int[] inputSlots;
  /** The model inputs are every feature in spec order: Score and FeatureVector share one map. */
  private final boolean inputsAreAllFeatures;
  private final List<String> entities;
  private final int[] entityKeyPositions;
  private final int idPos;
  private final int timePos;
  private final String specFingerprint;
  private final String modelLocation;
  private final String shadowLocation;
  private final Duration pollInterval;
  private final Thresholds thresholds;
  private final String dedupeHorizon;
  private final OnModelError onModelError;
  private RecoveryBudget recoveryBudget;

  /** What becomes of an event that the model cannot score (config key {@code model.error}). */
  public enum OnModelError {
    /** A {@code model_error} dead letter: not scored, nothing decided. */
    DEAD_LETTER,
    /** A Score with decision REVIEW and score NaN: a person looks at it. */
    REVIEW;

    /** From the config value {@code dead_letter} or {@code review}. */
    public static OnModelError parse(String value) {
      return ConfigEnums.parse(OnModelError.class, value);
    }

    public String configValue() {
      return ConfigEnums.configValue(this);
    }
  }

  /** A model's verdict on one vector: a probability, or why there is none. */
  record Verdict(double score, String error, Throwable cause) {
    Verdict(double score, String error) {
      this(score, error, null);
    }
  }

  /**
   * Scores {@code inputs}, never throwing: an exception or a score that is not a probability is an
   * error, with the exception's class and message or the score itself.
   */
  static Verdict score(Scorer scorer, double[] inputs) {
    double score;
    try {
      score = scorer.score(inputs);
    } catch (RuntimeException e) {
      return new Verdict(Double.NaN, "model " + scorer.info().version() + " threw "
          + e.getClass().getName() + ": " + e.getMessage(), e);
    }
    if (!Thresholds.isProbability(score)) {
      return new Verdict(Double.NaN, "model " + scorer.info().version() + " scored " + score
          + ", not a probability in [0, 1]");
    }
    return new Verdict(score, null);
  }

  private transient ModelWatcher model;
  private transient ModelWatcher shadow;
  private transient Counter scored;
  private transient Histogram latency;
  private transient Counter swaps;
  private transient Counter refusals;
  private transient Counter modelErrors;
  private transient Counter shadowErrors;
  private transient long lastErrorLog;
  /** The wall-clock time of each snapshot, so that a restore knows how long the job was down. */
  private transient ListState<Long> snapshotTimes;
  /** Scores per input partition, as of the last completed checkpoint (reconciliation). */
  private transient PartitionCounts scoredByPartition;
  /** The last recovery's downtime (ms), 0 when the job did not restore. */
  private transient long downtimeMillis;

  /** Null but in tests ({@link ElementProbe}). */
  private ElementProbe<FeatureEvent> probe;

  /** Calls {@code probe} before each event (a test seam). */
  ScoreFunction withProbe(ElementProbe<FeatureEvent> probe) {
    this.probe = probe;
    return this;
  }

  /** Judges recoveries against this budget (logged and measured); none: only measured. */
  public ScoreFunction withRecoveryBudget(RecoveryBudget budget) {
    this.recoveryBudget = budget;
    return this;
  }

  @Override
  public void initializeState(FunctionInitializationContext context) throws Exception {
    scoredByPartition = PartitionCounts.kept("scored", context);
    // Union state: every subtask sees every subtask's time, at any parallelism after a rescale.
    snapshotTimes = context.getOperatorStateStore().getUnionListState(
        new ListStateDescriptor<>("vigil-snapshot-wall-clock", Types.LONG));
    if (!context.isRestored()) {
      return;
    }
    long last = Long.MIN_VALUE;
    for (Long t : snapshotTimes.get()) {
      last = Math.max(last, t);
    }
    if (last == Long.MIN_VALUE) {
      return; // a savepoint from before this state, or from a tool: nothing to measure
    }
    downtimeMillis = Math.max(0, System.currentTimeMillis() - last);
    if (recoveryBudget != null && getRuntimeContext().getTaskInfo().getIndexOfThisSubtask() == 0) {
      RecoveryBudget.Verdict v = recoveryBudget.assess(downtimeMillis);
      switch (v.level()) {
        case ERROR -> LOG.error("recovery: {}", v.message());
        case WARN -> LOG.warn("recovery: {}", v.message());
        default -> LOG.info("recovery: {}", v.message());
      }
    }
  }

  @Override
  public void snapshotState(FunctionSnapshotContext context) throws Exception {
    snapshotTimes.update(List.of(System.currentTimeMillis()));
    scoredByPartition.snapshot(context.getCheckpointId());
  }

  @Override
  public void notifyCheckpointComplete(long checkpointId) {
    scoredByPartition.completed(checkpointId);
  }

  @Override
  public void notifyCheckpointAborted(long checkpointId) {
    scoredByPartition.aborted(checkpointId);
  }

  public ScoreFunction(CompiledSpec spec, String topic, Path model, Path shadowModel,
      Duration pollInterval, Thresholds thresholds, Duration dedupeHorizon) {
    this(spec, topic, model, shadowModel, pollInterval, thresholds, dedupeHorizon,
        OnModelError.DEAD_LETTER);
  }

  public ScoreFunction(CompiledSpec spec, String topic, Path model, Path shadowModel,
      Duration pollInterval, Thresholds thresholds, Duration dedupeHorizon,
      OnModelError onModelError) {
    this.onModelError = onModelError;
    this.topic = topic;
    this.modelName = spec.spec().modelName() == null ? "model" : spec.spec().modelName();
    this.featureNames = new ArrayList<>(spec.spec().featureNames());
    List<String> inputs = spec.spec().modelInputs();
    this.inputSlots = inputs.stream().mapToInt(featureNames::indexOf).toArray();
    this.inputsAreAllFeatures = isIdentity(inputSlots, featureNames.size());
    this.entities = new ArrayList<>(spec.spec().activeEntities());
    this.entityKeyPositions =
        entities.stream().mapToInt(e -> spec.entityKey(e).position()).toArray();
    this.idPos = spec.schema().getField("transaction_id").pos();
    this.timePos = spec.eventTime().position();
    this.specFingerprint = spec.spec().fingerprint();
    this.modelLocation = model.toString();
    this.shadowLocation = shadowModel == null ? null : shadowModel.toString();
    this.pollInterval = pollInterval;
    this.thresholds = thresholds;
    this.dedupeHorizon = dedupeHorizon.toString();
  }

  static boolean isIdentity(int[] slots, int n) {
    if (slots.length != n) {
      return false;
    }
    for (int i = 0; i < n; i++) {
      if (slots[i] != i) {
        return false;
      }
    }
    return true;
  }

  private List<String> inputNames() {
    List<String> names = new ArrayList<>(inputSlots.length);
    for (int slot : inputSlots) {
      names.add(featureNames.get(slot));
    }
    return names;
  }

  @Override
  public void open(OpenContext context) throws ModelException {
    var group = getRuntimeContext().getMetricGroup().addGroup("vigil");
    scored = group.counter("scored");
    latency = group.histogram("scoring_latency_ms", new DescriptiveStatisticsHistogram(10_000));
    swaps = group.counter("model_swaps");
    refusals = group.counter("model_refusals");
    modelErrors = group.counter("model_errors");
    shadowErrors = group.counter("shadow_errors");
    // How long the job was down before its last restore (0: not restored); with exactly_once,
    // alert before it nears transaction.timeout (recovery.budget, RecoveryBudget).
    group.addGroup("recovery").gauge("downtime_ms", () -> downtimeMillis);
    scoredByPartition.open(group.addGroup("reconcile"));
    ModelWatcher.Listener listener = new ModelWatcher.Listener() {
      @Override
      public void swapped(ModelInfo from, ModelInfo to) {
        swaps.inc();
        LOG.info("model swapped: {} -> {}", from.version(), to.version());
      }

      @Override
      public void refused(Path file, ModelException why) {
        refusals.inc();
        LOG.warn("model file refused, the current model keeps scoring: {}", why.getMessage());
      }
    };
    model = ModelWatcher.start(Path.of(modelLocation), modelName, inputNames(), pollInterval,
        listener);
    if (shadowLocation != null) {
      shadow = ModelWatcher.start(Path.of(shadowLocation), modelName + "-shadow", inputNames(),
          pollInterval, listener);
    }
    LOG.info("scoring with {} (shadow: {})", model.current().info().version(),
        shadow == null ? "none" : shadow.current().info().version());
  }

  @Override
  public void processElement(FeatureEvent e, Context ctx, Collector<Score> out) throws Exception {
    if (probe != null) {
      probe.before(e, getRuntimeContext().getTaskInfo().getAttemptNumber());
    }
    IndexedRecord record = e.event;
    if (e.duplicate) {
      String id = String.valueOf(record.get(idPos));
      String message = "transaction_id '" + id + "' was already seen for the same entity key within"
          + " the dedupe horizon " + dedupeHorizon + " (a producer retry); not scored again";
      ctx.output(DeadLetters.TAG, deadLetter(DeadLetters.DUPLICATE, message, e));
      return;
    }
    // A late event (behind the watermark) is scored like any other: its features went through the
    // one late rule (docs/feature-spec.md) and were counted there; a valid event is never dropped.
    double[] inputs = new double[inputSlots.length];
    // The records are only serialized after they are emitted (the sinks, Flink's copy or
    // serialization between operators), never changed: one map may be in both when the model
    // inputs are all features in spec order.
    Map<String, Object> used = new LinkedHashMap<>(mapCapacity(inputSlots.length));
    for (int i = 0; i < inputSlots.length; i++) {
      Object v = e.values[inputSlots[i]];
      inputs[i] = toDouble(v);
      used.put(featureNames.get(inputSlots[i]), avroValue(v));
    }
    Scorer scorer = model.current();
    Verdict verdict = score(scorer, inputs);
    double score = verdict.score();
    dev.vigil.avro.Decision decided = decision(score);
    if (verdict.error() != null) {
      modelErrors.inc();
      logModelError(verdict.error());
      if (onModelError == OnModelError.DEAD_LETTER) {
        ctx.output(DeadLetters.TAG, DeadLetters.withException(deadLetter(DeadLetters.MODEL_ERROR,
            verdict.error() + "; not scored (model.error=dead_letter)", e), verdict.cause()));
        return;
      }
      decided = dev.vigil.avro.Decision.REVIEW;
    }
    ShadowScore shadowScore = null;
    if (shadow != null) {
      Scorer s = shadow.current();
      Verdict v = score(s, inputs);
      if (v.error() == null) {
        shadowScore = new ShadowScore(s.info().version(), v.score(), decision(v.score()));
      } else {
        shadowErrors.inc();
      }
    }
    String id = record.get(idPos).toString();
    Instant time = Instant.ofEpochMilli(eventTime(record));
    long now = System.currentTimeMillis();
    out.collect(new Score(id, time, Instant.ofEpochMilli(now), scorer.info().version(), score,
        decided, used, shadowScore));
    Map<String, String> keys = new LinkedHashMap<>();
    for (int i = 0; i < entities.size(); i++) {
      keys.put(entities.get(i), record.get(entityKeyPositions[i]).toString());
    }
    Map<String, Object> all;
    if (inputsAreAllFeatures) {
      all = used;
    } else {
      all = new HashMap<>(mapCapacity(featureNames.size()));
      for (int i = 0; i < featureNames.size(); i++) {
        all.put(featureNames.get(i), avroValue(e.values[i]));
      }
    }
    ctx.output(FEATURES, new FeatureVector(id, time, specFingerprint, keys, all));
    scored.inc();
    scoredByPartition.add(Seq.partition(e.seq));
    latency.update(now - Envelope.kafkaTimestamp(record));
  }

  /** The dead letter of an event that reached this stage: its original bytes and provenance. */
  private DeadLetter deadLetter(String reason, String message, FeatureEvent e) {
    byte[] original = Envelope.original(e.event);
    DeadLetter d = DeadLetters.of(reason, message, topic, Seq.partition(e.seq), Seq.offset(e.seq),
        schemaIdOf(original), original, null, Envelope.kafkaTimestamp(e.event));
    d.setTask(getRuntimeContext().getTaskInfo().getTaskNameWithSubtasks());
    return d;
  }

    /** A WARN at most every 10 s (the count is in {@code model_errors}). */
  private void logModelError(String error) {
    long now = System.currentTimeMillis();
    if (now - lastErrorLog >= 10_000) {
      lastErrorLog = now;
      LOG.warn("model error ({} so far in this subtask; model.error={}): {}",
          modelErrors.getCount(), onModelError.configValue(), error);
    }
  }

  /** A hash map capacity that holds {@code n} entries without resizing. */
  private static int mapCapacity(int n) {
    return (int) (n / 0.75f) + 1;
  }

  private long eventTime(IndexedRecord record) {
    Object t = record.get(timePos);
    return t instanceof Instant i ? i.toEpochMilli() : ((Number) t).longValue();
  }

  private dev.vigil.avro.Decision decision(double score) {
    return dev.vigil.avro.Decision.valueOf(thresholds.decide(score).name());
  }

  /** A feature value as a model input: numbers as they are, anything else missing. */
  static double toDouble(Object v) {
    if (v instanceof Number n) {
      return n.doubleValue();
    }
    if (v instanceof Boolean b) {
      return b ? 1 : 0;
    }
    return Double.NaN;
  }

  /** A feature value as the Avro map's union (null, long, double, string). */
  static Object avroValue(Object v) {
    if (v == null || v instanceof Long || v instanceof Double) {
      return v;
    }
    if (v instanceof Number n) {
      return n instanceof Float || n instanceof Double ? (Object) n.doubleValue() : (Object) n.longValue();
    }
    return v.toString();
  }

  private static Integer schemaIdOf(byte[] framed) {
    return ((framed[1] & 0xff) << 24) | ((framed[2] & 0xff) << 16) | ((framed[3] & 0xff) << 8)
        | (framed[4] & 0xff);
  }

  @Override
  public void close() {
    if (model != null) {
      model.close();
    }
    if (shadow != null) {
      shadow.close();
    }
  }
}
