package dev.vigil.jobs;

import dev.vigil.models.Thresholds;
import dev.vigil.schemas.registry.RegistryConfig;
import dev.vigil.schemas.registry.Secret;
import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.spec.Durations;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Function;
import org.apache.flink.connector.base.DeliveryGuarantee;

/**
 * Everything the scoring job is told, validated once before the graph is built: a bad value fails
 * with a message naming the key, the value and what is allowed (all problems at once). Built from
 * {@code --key value} arguments and/or a properties file ({@code --config file.properties}; the
 * arguments win). {@link #toString()} masks every secret: the registry password and token, the
 * TLS store passwords and every Kafka property that looks like one ({@link #isSecretProperty}).
 *
 * <p>Kafka client properties pass through: {@code kafka.*} to every client of the job (source,
 * sinks), {@code source.kafka.*} and {@code sink.kafka.*} over them; the properties the job owns
 * ({@link #RESERVED}) are refused. Secrets are references ({@code ${env:NAME}}, {@code
 * ${file:PATH}}) resolved where the client or operator is created, never in the job graph.
 *
 * <p>Not serializable on purpose: operators get the few values they need, never the config.
 *
 * <p>The keys, their defaults and meanings are {@link #KEYS} (also the table in
 * docs/scoring-job.md).
 */
public record ScoringConfig(
    String bootstrapServers,
    String inputTopic,
    String scoresTopic,
    String featuresTopic,
    String deadLettersTopic,
    String groupId,
    String registryUrl,
    String registryUser,
    String registryPassword,
    String registryToken,
    Duration registryRetryBackoff,
    Duration registryRetryMaxBackoff,
    Duration registryOutageFailAfter,
    Path specPath,
    Path modelPath,
    Path shadowModelPath,
    Duration modelPollInterval,
    Thresholds thresholds,
    ScoreFunction.OnModelError onModelError,
    int parallelism,
    int maxParallelism,
    DeliveryGuarantee scoresDelivery,
    DeliveryGuarantee featuresDelivery,
    DeliveryGuarantee deadLettersDelivery,
    Sinks.RecordTimestamp sinkRecordTimestamp,
    String transactionalIdPrefix,
    Duration transactionTimeout,
    Duration brokerTransactionMaxTimeout,
    Duration checkpointInterval,
    Duration checkpointTimeout,
    Duration recoveryBudget,
    int tolerableCheckpointFailures,
    Duration dedupeHorizon,
    Duration futureTolerance,
    StartingOffsets startingOffsets,
    Watermarks watermarks,
    Duration bufferTimeout,
    RegistryConfig.Tls registryTls,
    Map<String, String> kafkaProperties,
    boolean startupChecks,
    boolean emptyStartAllowed) {

  /**
   * Event time at the source: per partition, bounded out-of-orderness, idleness and alignment
   * (docs/scoring-job.md, "Event time").
   *
   * @param outOfOrderness how far an event may be behind its partition's newest and still count as
   *     in order (the watermark trails each partition's newest event time by this)
   * @param idleTimeout a partition with no records for this long stops holding the watermark back
   * @param maxDrift alignment: how far one partition may read ahead of the slowest in event time
   *     (catch-up) before it is paused
   * @param interval how often the source emits watermarks
   */
  public record Watermarks(Duration outOfOrderness, Duration idleTimeout, Duration maxDrift,
      Duration interval) {}

  /** Flink's upper bound for max parallelism (key groups). */
  static final int MAX_KEY_GROUPS = 1 << 15;

  /** A configuration key: name, default (null: required or optional without default), meaning. */
  public record Key(String name, String defaultValue, String meaning) {}

  public static final List<Key> KEYS = List.of(
      new Key("bootstrap.servers", null, "Kafka bootstrap servers (required)."),
      new Key("input.topic", "payments.transactions", "The topic of upstream Transaction records (Confluent wire format)."),
      new Key("scores.topic", "vigil.scores", "Where Score records go (key = transaction_id)."),
      new Key("features.topic", "vigil.features", "Where FeatureVector records go (key = transaction_id)."),
      new Key("dead-letters.topic", "vigil.dead-letters", "Where records that cannot be scored go: the original bytes with vigil.* headers."),
      new Key("group.id", "vigil-scoring", "Consumer group of the source (offsets are committed on checkpoints)."),
      new Key("registry.url", null, "Confluent-API schema registry root (required), e.g. http://host:8081 or http://host:8080/apis/ccompat/v7."),
      new Key("registry.user", null, "Registry basic-auth user (with registry.password)."),
      new Key("registry.password", null, "Registry basic-auth password; never logged."),
      new Key("registry.token", null, "Registry bearer token (instead of user/password); never logged."),
      new Key("registry.ssl.truststore.location", null, "Truststore (PKCS12 or JKS) with the https registry's certificate or its CA; default: the JDK's trust store."),
      new Key("registry.ssl.truststore.password", null, "The truststore's password, if it has one."),
      new Key("registry.ssl.keystore.location", null, "Client keystore (PKCS12 or JKS: certificate and key) for a registry that requires mutual TLS."),
      new Key("registry.ssl.keystore.password", null, "The client keystore's password (also its key's); required with registry.ssl.keystore.location."),
      new Key("registry.retry.backoff", "200ms", "While the registry is unreachable (refused, timed out, 5xx), a record whose schema id is not cached yet is held back, never dead-lettered: the first wait before asking again; doubles each time (with jitter)."),
      new Key("registry.retry.max-backoff", "10s", "Cap on one wait between two attempts to reach the registry."),
      new Key("registry.outage.fail-after", null, "How long one record may be held back waiting for the registry before the task fails and the job restarts from its last checkpoint (the restart strategy decides how often); default: half of transaction.timeout. Below transaction.timeout minus checkpoint.interval with exactly_once. No checkpoint completes while a record is held back: past checkpoint.timeout each attempt fails, and counts against checkpoint.tolerable-failures."),
      new Key("spec", null, "The feature spec YAML (required)."),
      new Key("model", null, "The model: a .json (XGBoost) or .onnx file (required)."),
      new Key("shadow.model", null, "A second model scored beside the first, recorded in Score.shadow, never deciding."),
      new Key("model.poll.interval", "10s", "How often the model location is checked for a new file (hot swap)."),
      new Key("thresholds.review", "0.5", "Scores from this value are REVIEW."),
      new Key("thresholds.decline", "0.9", "Scores from this value are DECLINE."),
      new Key("model.error", "dead_letter", "An event the model cannot score (it throws, or the score is NaN, infinite or outside [0, 1]): dead_letter (reason model_error, not scored) or review (a Score with decision REVIEW and score NaN). Never approved, never a job failure."),
      new Key("parallelism", "2", "Parallelism of every operator."),
      new Key("max.parallelism", String.valueOf(OperatorUids.DEFAULT_MAX_PARALLELISM), "Key groups: fixed for the life of the state (savepoints)."),
      new Key("scores.delivery", "exactly_once", "exactly_once or at_least_once for the scores sink."),
      new Key("features.delivery", "exactly_once", "exactly_once or at_least_once for the feature-vector sink."),
      new Key("dead-letters.delivery", "exactly_once", "exactly_once or at_least_once for the dead-letter sink."),
      new Key("sink.record-timestamp", "processing_time", "The Kafka timestamp of what the sinks write (scores, feature vectors, dead letters): processing_time (when it is written) or event_time (the event's time; the payload has both). With event_time, a catch-up or replay of events older than a topic's retention.ms writes records the broker deletes at its next retention check (lost to every consumer)."),
      new Key("transactional.id.prefix", null, "Prefix of the Kafka transactional ids; each sink appends its own suffix. Unique per deployment: two jobs with one prefix fence each other's transactions (and abort each other's results). Default: the group.id, which is unique per deployment already (two jobs in one consumer group would split the input)."),
      new Key("transaction.timeout", "10m", "Kafka transaction.timeout.ms of the exactly-once sinks: above the checkpoint interval, at most the broker's limit."),
      new Key("broker.transaction.max.timeout", "15m", "The brokers' transaction.max.timeout.ms as assumed before anything connects (Kafka's default 15 min); at start-up transaction.timeout is also checked against the brokers' own value, read with DescribeConfigs."),
      new Key("checkpoint.interval", "10s", "Checkpoint interval; with exactly_once, results become visible at each checkpoint."),
      new Key("state.empty-start", "refuse", "refuse or allow: whether the job may start without state to restore (no savepoint, no checkpoint). A cold start scores every event with features that lack its entity's history (counts from zero, no last-seen times), silently; start from a `vigil state bootstrap` savepoint instead. A restore under another spec is refused whatever this says."),
      new Key("checkpoint.timeout", "1m", "A checkpoint not completed in this long is declined and counts as a failed one (Flink's execution.checkpointing.timeout). With exactly_once: transaction.timeout must exceed this + checkpoint.interval + recovery.budget, and (checkpoint.tolerable-failures + 1) x the longer of this and checkpoint.interval."),
      new Key("recovery.budget", "5m", "With exactly_once: the longest outage the sinks are sized for, from the last completed checkpoint to the job running again (a TaskManager lost and replaced, a restart, a JobManager failover). transaction.timeout must exceed checkpoint.timeout + checkpoint.interval + this; a recovery that takes longer may lose the results of the last checkpoint (the broker aborts their transactions first), and is logged and counted (vigil.recovery.downtime_ms)."),
      new Key("checkpoint.tolerable-failures", "5", "Consecutive failed checkpoints (checkpoint storage failing, a checkpoint timing out) the job rides through before it fails over and restarts from the last completed one (Flink's execution.checkpointing.tolerable-failed-checkpoints); with exactly_once, (this + 1) x the longer of checkpoint.interval and checkpoint.timeout must stay below transaction.timeout."),
      new Key("dedupe.horizon", "24h", "How long a transaction_id is remembered per entity key to drop producer retries."),
      new Key("future.tolerance", "5m", "How far past the wall clock an event time may be before the record is dead-lettered."),
      new Key("starting.offsets", "committed", "Where a fresh start (no checkpoint or savepoint) reads: " + StartingOffsets.ALLOWED + "."),
      new Key("watermark.out-of-orderness", "500ms", "How far an event may trail its partition's newest event time and still be in order; the watermark trails each partition's newest by this. 0 for partitions in strict time order."),
      new Key("watermark.idle-timeout", "1s", "A partition without records for this long stops holding the watermark back (keep it below the spec's as_of lags)."),
      new Key("watermark.alignment.max-drift", "30s", "Catch-up: a partition more than this ahead of the slowest in event time is paused, so buffers stay bounded."),
      new Key("watermark.interval", "50ms", "How often the source emits watermarks."),
      new Key("buffer.timeout", "2ms", "How long a record may wait at each network exchange for its buffer to fill (Flink's execution.buffer-timeout.interval; Flink's default, 100ms, puts the scores' median near 50 ms)."),
      new Key("startup.checks", "true", "Before submitting, main reads the secrets and connects to Kafka as the job will; false where main runs without the secrets (a remote flink run client)."));

  private static final Map<String, Key> BY_NAME = byName();

  /** The Kafka client of the job a pass-through property is for. */
  public enum KafkaClient {
    /** The source's consumer (and its enumerator's admin client). */
    SOURCE("source.kafka."),
    /** The producers of the three sinks. */
    SINK("sink.kafka.");

    /** The key prefix of properties for this client only. */
    public final String prefix;

    KafkaClient(String prefix) {
      this.prefix = prefix;
    }
  }

  /** The key prefix of Kafka properties for every client of the job. */
  public static final String KAFKA_PREFIX = "kafka.";

  /**
   * The registry keys that are secrets: given as {@code ${env:…}} / {@code ${file:…}} only,
   * resolved when the registry client is created (in the operator's open).
   */
  static final Set<String> SECRET_KEYS = Set.of("registry.password", "registry.token",
      "registry.ssl.truststore.password", "registry.ssl.keystore.password");

  /** Keys that no longer exist, with what to do instead. */
  static final Map<String, String> RETIRED = Map.of("registry.retry.limit",
      "a registry outage no longer dead-letters records after a number of attempts: they are held"
          + " back and retried (registry.retry.backoff, registry.retry.max-backoff), and the task"
          + " fails after registry.outage.fail-after; remove the key");

  /** Kafka client properties the job sets itself, with what to do instead. */
  public static final Map<String, String> RESERVED = reserved();

  private static Map<String, String> reserved() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("bootstrap.servers", "use the key bootstrap.servers");
    m.put("group.id", "use the key group.id");
    m.put("isolation.level", "the source always reads read_committed");
    m.put("auto.offset.reset", "use the key starting.offsets");
    m.put("enable.auto.commit", "offsets are in checkpoint state, committed on checkpoints");
    m.put("commit.offsets.on.checkpoint", "offsets are committed on checkpoints");
    m.put("key.deserializer", "the source reads bytes");
    m.put("value.deserializer", "the source reads bytes");
    m.put("key.serializer", "the sinks set their serializers");
    m.put("value.serializer", "the sinks set their serializers");
    m.put("transactional.id", "use the key transactional.id.prefix");
    m.put("transaction.timeout.ms", "use the key transaction.timeout");
    m.put("config.providers", "the job resolves ${env:NAME} and ${file:PATH} itself");
    return java.util.Collections.unmodifiableMap(m);
  }

  /**
   * Whether Kafka property {@code name} (without prefix) holds a secret: masked by toString and
   * accepted only with a {@code ${env:…}} / {@code ${file:…}} reference in its value.
   */
  public static boolean isSecretProperty(String name) {
    String n = name.toLowerCase(Locale.ROOT);
    return n.equals("sasl.jaas.config") || n.contains("password") || n.contains("passphrase")
        || n.contains("secret") || n.endsWith(".key") || n.contains("private.key");
  }

  /** The Kafka property name of {@code key}, or null if it is not a pass-through key. */
  static String kafkaPropertyName(String key) {
    for (String prefix : List.of(KAFKA_PREFIX, KafkaClient.SOURCE.prefix,
        KafkaClient.SINK.prefix)) {
      if (key.startsWith(prefix) && key.length() > prefix.length()) {
        return key.substring(prefix.length());
      }
    }
    return null;
  }

  private static Map<String, Key> byName() {
    Map<String, Key> m = new LinkedHashMap<>();
    KEYS.forEach(k -> m.put(k.name(), k));
    return m;
  }

  /** The configuration from {@code args} ({@code --key value}, {@code --config file.properties}). */
  public static ScoringConfig fromArgs(String[] args) throws ConfigException {
    Map<String, String> fromArgs = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    Path file = null;
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (!a.startsWith("--") || a.length() == 2) {
        problems.add("argument '" + a + "': expected --key value");
        continue;
      }
      String key = a.substring(2);
      String value;
      int eq = key.indexOf('=');
      if (eq > 0) {
        value = key.substring(eq + 1);
        key = key.substring(0, eq);
      } else if (i + 1 < args.length) {
        value = args[++i];
      } else {
        problems.add("argument '--" + key + "': no value follows it");
        continue;
      }
      if (key.equals("config")) {
        file = Path.of(value);
      } else {
        fromArgs.put(key, value);
      }
    }
    if (!problems.isEmpty()) {
      throw new ConfigException(problems);
    }
    Map<String, String> merged = new LinkedHashMap<>();
    if (file != null) {
      merged.putAll(readProperties(file));
    }
    merged.putAll(fromArgs);
    return of(merged);
  }

  /** Reads {@code file} as Java properties. */
  public static Map<String, String> readProperties(Path file) throws ConfigException {
    Properties p = new Properties();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(in);
    } catch (IOException e) {
      throw new ConfigException(List.of("key 'config': cannot read properties file " + file + ": "
          + e.getMessage()));
    }
    Map<String, String> m = new LinkedHashMap<>();
    p.stringPropertyNames().forEach(k -> m.put(k, p.getProperty(k)));
    return m;
  }

  /**
   * Validates {@code values} (key → text) against {@link #KEYS}; every problem at once. A value
   * that is a whole reference is replaced first: {@code ${env:NAME}} by the environment variable
   * {@code NAME}, {@code ${file:PATH}} by the file's content without its trailing line break (a
   * mounted Kubernetes Secret), so credentials need not be in the properties file or on the
   * command line.
   */
  public static ScoringConfig of(Map<String, String> values) throws ConfigException {
    return of(values, System::getenv);
  }

  /** {@link #of(Map)} with {@code env} as the environment (tests). */
  static ScoringConfig of(Map<String, String> values, Function<String, String> env)
      throws ConfigException {
    return new Parser(values, env).parse();
  }

  private static final java.util.regex.Pattern REFERENCE =
      java.util.regex.Pattern.compile("\\$\\{(env|file):([^}]+)}");

  /** Only the file checks and the Kafka/Flink rules that need the values together. */
  private static final class Parser {
    private final Map<String, String> values = new LinkedHashMap<>();
    private final List<String> problems = new ArrayList<>();
    /** Keys whose reference could not be resolved (already reported). */
    private final java.util.Set<String> unresolved = new java.util.HashSet<>();

    Parser(Map<String, String> raw, Function<String, String> env) {
      // Secrets stay references: they are read where they are used (see SECRET_KEYS).
      raw.forEach((key, value) -> values.put(key,
          SECRET_KEYS.contains(key) || kafkaPropertyName(key) != null
              ? value : resolve(key, value, env)));
    }

    /** {@code value}, or what its {@code ${env:…}} / {@code ${file:…}} reference names. */
    private String resolve(String key, String value, Function<String, String> env) {
      if (value == null) {
        return null;
      }
      var m = REFERENCE.matcher(value.strip());
      if (!m.matches()) {
        return value;
      }
      String name = m.group(2).strip();
      if (m.group(1).equals("env")) {
        String v = env.apply(name);
        if (v == null) {
          problems.add("key '" + key + "': environment variable " + name + " (from " + value.strip()
              + ") is not set");
          unresolved.add(key);
        }
        return v;
      }
      try {
        String v = Files.readString(Path.of(name), StandardCharsets.UTF_8);
        return v.endsWith("\r\n") ? v.substring(0, v.length() - 2)
            : v.endsWith("\n") ? v.substring(0, v.length() - 1) : v;
      } catch (IOException | RuntimeException e) {
        problems.add("key '" + key + "': cannot read " + value.strip() + ": "
            + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.toString()));
        unresolved.add(key);
        return null;
      }
    }

    ScoringConfig parse() throws ConfigException {
      Map<String, String> kafka = new TreeMap<>();
      for (String k : values.keySet()) {
        String property = kafkaPropertyName(k);
        if (property != null) {
          String v = values.get(k);
          if (kafkaProperty(k, property, v)) {
            kafka.put(k, v.strip());
          }
        } else if (RETIRED.containsKey(k)) {
          problems.add("key '" + k + "': no longer exists: " + RETIRED.get(k));
        } else if (!BY_NAME.containsKey(k)) {
          problems.add("key '" + k + "': unknown; keys: " + String.join(", ", BY_NAME.keySet())
              + ", and Kafka client properties as kafka.*, source.kafka.*, sink.kafka.*");
        }
      }
      String bootstrap = required("bootstrap.servers");
      String input = topic("input.topic");
      String scores = topic("scores.topic");
      String features = topic("features.topic");
      String deadLetters = topic("dead-letters.topic");
      String group = nonBlank("group.id");
      String registryUrl = required("registry.url");
      if (registryUrl != null) {
        try {
          RegistryConfig.of(registryUrl);
        } catch (IllegalArgumentException e) {
          problems.add("key 'registry.url': " + e.getMessage());
        }
      }
      String user = optional("registry.user");
      String password = secret("registry.password");
      String token = secret("registry.token");
      if ((user == null) != (optional("registry.password") == null)) {
        problems.add("keys 'registry.user' and 'registry.password': give both or neither");
      }
      if (token != null && user != null) {
        problems.add("keys 'registry.token' and 'registry.user': give a token or a user and"
            + " password, not both");
      }
      RegistryConfig.Tls tls = registryTls();
      Duration retryBackoff = duration("registry.retry.backoff");
      Duration retryMaxBackoff = duration("registry.retry.max-backoff");
      if (retryBackoff != null && retryMaxBackoff != null
          && retryMaxBackoff.compareTo(retryBackoff) < 0) {
        problems.add("key 'registry.retry.max-backoff': " + Durations.format(retryMaxBackoff
            .toMillis()) + " is shorter than registry.retry.backoff "
            + Durations.format(retryBackoff.toMillis()));
      }
      Duration failAfter = optional("registry.outage.fail-after") == null ? null
          : duration("registry.outage.fail-after");
      Path spec = file("spec", true);
      Path model = modelPath("model", true);
      Path shadow = modelPath("shadow.model", false);
      Duration poll = duration("model.poll.interval");
      double review = probability("thresholds.review");
      double decline = probability("thresholds.decline");
      Thresholds thresholds = null;
      if (!Double.isNaN(review) && !Double.isNaN(decline)) {
        if (review > decline) {
          problems.add("keys 'thresholds.review' (" + review + ") and 'thresholds.decline' ("
              + decline + "): review must not exceed decline");
        } else {
          thresholds = new Thresholds(review, decline);
        }
      }
      ScoreFunction.OnModelError onModelError =
          parsed("model.error", ScoreFunction.OnModelError::parse);
      int parallelism = integer("parallelism", 1, MAX_KEY_GROUPS);
      int maxParallelism = integer("max.parallelism", 1, MAX_KEY_GROUPS);
      if (parallelism > 0 && maxParallelism > 0 && parallelism > maxParallelism) {
        problems.add("key 'parallelism': " + parallelism + " exceeds max.parallelism "
            + maxParallelism);
      }
      DeliveryGuarantee scoresDelivery = guarantee("scores.delivery");
      DeliveryGuarantee featuresDelivery = guarantee("features.delivery");
      DeliveryGuarantee deadLettersDelivery = guarantee("dead-letters.delivery");
      Sinks.RecordTimestamp recordTimestamp =
          parsed("sink.record-timestamp", Sinks.RecordTimestamp::parse);
      String prefix = optional("transactional.id.prefix") == null ? group
          : nonBlank("transactional.id.prefix");
      Duration txTimeout = duration("transaction.timeout");
      Duration brokerMax = duration("broker.transaction.max.timeout");
      Duration checkpoint = duration("checkpoint.interval");
      Duration checkpointTimeout = duration("checkpoint.timeout");
      Duration budget = duration("recovery.budget");
      int tolerable = integer("checkpoint.tolerable-failures", 0, 1_000);
      Duration dedupe = duration("dedupe.horizon");
      Duration future = duration("future.tolerance");
      StartingOffsets starting = parsed("starting.offsets", StartingOffsets::parse);
      Duration outOfOrderness = durationOrZero("watermark.out-of-orderness");
      Duration idle = duration("watermark.idle-timeout");
      Duration drift = duration("watermark.alignment.max-drift");
      Duration wmInterval = duration("watermark.interval");
      Duration bufferTimeout = duration("buffer.timeout");
      boolean startupChecks = bool("startup.checks");
      String emptyStart = nonBlank("state.empty-start");
      if (emptyStart != null && !emptyStart.equals("refuse") && !emptyStart.equals("allow")) {
        problems.add("key 'state.empty-start': '" + emptyStart + "' is not one of refuse, allow");
      }
      boolean exactlyOnce = anyExactlyOnce(scoresDelivery, featuresDelivery, deadLettersDelivery);
      if (exactlyOnce && txTimeout != null && checkpoint != null && brokerMax != null) {
        if (txTimeout.compareTo(checkpoint) <= 0) {
          problems.add("key 'transaction.timeout': " + Durations.format(txTimeout.toMillis())
              + " must be longer than checkpoint.interval " + Durations.format(checkpoint.toMillis())
              + " with exactly_once delivery: a transaction stays open from one checkpoint to the"
              + " next, and the broker aborts it after the timeout (results lost)");
        }
        // Each failed attempt takes up to the longer of the interval (failing at once) and the
        // checkpoint timeout (hanging storage): the transaction open since the last completed
        // checkpoint lives that long, times the failures in a row, before it commits or fails over.
        Duration attempt = checkpointTimeout != null && checkpointTimeout.compareTo(checkpoint) > 0
            ? checkpointTimeout : checkpoint;
        if (tolerable >= 0 && attempt.multipliedBy(tolerable + 1L).compareTo(txTimeout) >= 0) {
          problems.add("key 'checkpoint.tolerable-failures': " + tolerable + " failed checkpoints"
              + " in a row, each taking up to " + Durations.format(attempt.toMillis())
              + " (the longer of checkpoint.interval and checkpoint.timeout), outlast"
              + " transaction.timeout " + Durations.format(txTimeout.toMillis())
              + " with exactly_once delivery: the results waiting for the next completed"
              + " checkpoint would be aborted by the broker (lost) before they are committed or the"
              + " job fails over and replays them; lower it or checkpoint.timeout, or raise"
              + " transaction.timeout");
        }
        if (checkpointTimeout != null && budget != null
            && txTimeout.compareTo(checkpointTimeout.plus(checkpoint).plus(budget)) <= 0) {
          problems.add("key 'transaction.timeout': " + Durations.format(txTimeout.toMillis())
              + " must exceed checkpoint.timeout " + Durations.format(checkpointTimeout.toMillis())
              + " + checkpoint.interval " + Durations.format(checkpoint.toMillis())
              + " + recovery.budget " + Durations.format(budget.toMillis())
              + " with exactly_once delivery: a checkpoint's transactions stay open while it"
              + " completes and until the restored job commits them after a failure, and the"
              + " broker aborts them (results lost) after the timeout; raise transaction.timeout"
              + " (at most the broker's transaction.max.timeout.ms) or lower the others");
        }
        if (txTimeout.compareTo(brokerMax) > 0) {
          problems.add("key 'transaction.timeout': " + Durations.format(txTimeout.toMillis())
              + " exceeds the broker's transaction.max.timeout.ms ("
              + Durations.format(brokerMax.toMillis()) + ", key 'broker.transaction.max.timeout');"
              + " the broker would refuse the sink's producers");
        }
      }
      if (exactlyOnce && failAfter != null && txTimeout != null && checkpoint != null
          && failAfter.compareTo(txTimeout.minus(checkpoint)) >= 0) {
        problems.add("key 'registry.outage.fail-after': " + Durations.format(failAfter.toMillis())
            + " must be shorter than transaction.timeout " + Durations.format(txTimeout.toMillis())
            + " minus checkpoint.interval " + Durations.format(checkpoint.toMillis())
            + " with exactly_once delivery: no checkpoint completes while a record is held back,"
            + " and the broker aborts a sink's open transaction after transaction.timeout");
      }
      if (!problems.isEmpty()) {
        throw new ConfigException(problems);
      }
      return new ScoringConfig(bootstrap, input, scores, features, deadLetters, group,
          registryUrl, user, password, token, retryBackoff, retryMaxBackoff, failAfter, spec,
          model, shadow, poll,
          thresholds, onModelError, parallelism, maxParallelism, scoresDelivery, featuresDelivery,
          deadLettersDelivery, recordTimestamp, prefix, txTimeout, brokerMax, checkpoint,
          checkpointTimeout, budget, tolerable, dedupe, future, starting,
          new Watermarks(outOfOrderness, idle, drift, wmInterval), bufferTimeout,
          tls, java.util.Collections.unmodifiableMap(kafka), startupChecks,
          "allow".equals(emptyStart));
    }

    /** Checks one pass-through property; false if refused (reported). Never shows a secret. */
    private boolean kafkaProperty(String key, String property, String value) {
      String reason = RESERVED.get(property);
      if (reason == null && property.startsWith("config.providers.")) {
        reason = RESERVED.get("config.providers");
      }
      if (reason != null) {
        problems.add("key '" + key + "': the job sets " + property + " itself (" + reason + ")");
        return false;
      }
      if (value == null || value.isBlank()) {
        problems.add("key '" + key + "': must not be empty");
        return false;
      }
      if (isSecretProperty(property) && !Secret.containsReference(value)) {
        problems.add("key '" + key + "': a secret; give it as ${env:NAME} or ${file:PATH} (also"
            + " inside the value, e.g. password=\"${env:KAFKA_PASSWORD}\" in a JAAS config),"
            + " read where the Kafka client is created; a literal value is refused (it would be"
            + " in the job graph, the Flink UI and the process list)");
        return false;
      }
      return true;
    }

    /** An optional secret: a whole {@code ${env:…}} / {@code ${file:…}} reference, kept as is. */
    private String secret(String key) {
      String v = optional(key);
      if (v != null && !Secret.isReference(v)) {
        problems.add("key '" + key + "': a secret; give it as ${env:NAME} or ${file:PATH}, read"
            + " where the registry client is created; a literal value is refused (it would be in"
            + " the job graph, the Flink UI and the process list)");
        return null;
      }
      return v;
    }

    private RegistryConfig.Tls registryTls() {
      Path truststore = file("registry.ssl.truststore.location", false);
      String truststorePassword = secret("registry.ssl.truststore.password");
      Path keystore = file("registry.ssl.keystore.location", false);
      String keystorePassword = secret("registry.ssl.keystore.password");
      if (keystore != null && keystorePassword == null
          && optional("registry.ssl.keystore.password") == null) {
        problems.add("key 'registry.ssl.keystore.password': required with"
            + " registry.ssl.keystore.location");
        return null;
      }
      if (truststore == null && keystore == null) {
        return null;
      }
      return new RegistryConfig.Tls(
          truststore == null ? null : truststore.toString(),
          truststorePassword == null ? null : Secret.reference(truststorePassword),
          keystore == null ? null : keystore.toString(),
          keystorePassword == null ? null : Secret.reference(keystorePassword));
    }

    private String text(String key) {
      String v = values.get(key);
      if (v == null) {
        v = BY_NAME.get(key).defaultValue();
      }
      return v == null ? null : v.strip();
    }

    private String required(String key) {
      if (unresolved.contains(key)) {
        return null;
      }
      String v = text(key);
      if (v == null || v.isEmpty()) {
        problems.add("key '" + key + "': required (" + BY_NAME.get(key).meaning() + ")");
        return null;
      }
      return v;
    }

    private String optional(String key) {
      String v = text(key);
      return v == null || v.isEmpty() ? null : v;
    }

    private String nonBlank(String key) {
      if (unresolved.contains(key)) {
        return null;
      }
      String v = text(key);
      if (v == null || v.isEmpty()) {
        problems.add("key '" + key + "': must not be empty");
        return null;
      }
      return v;
    }

    private String topic(String key) {
      String v = nonBlank(key);
      if (v != null && !v.matches("[a-zA-Z0-9._-]{1,249}")) {
        problems.add("key '" + key + "': '" + v + "' is not a Kafka topic name (letters, digits,"
            + " '.', '_', '-'; at most 249)");
        return null;
      }
      return v;
    }

    private <T> T parsed(String key, Function<String, T> parse) {
      String v = text(key);
      if (v == null) {
        return null;
      }
      try {
        return parse.apply(v);
      } catch (IllegalArgumentException e) {
        problems.add("key '" + key + "': " + e.getMessage());
        return null;
      }
    }

    private boolean bool(String key) {
      String v = text(key).toLowerCase(Locale.ROOT);
      if (!v.equals("true") && !v.equals("false")) {
        problems.add("key '" + key + "': '" + v + "' is not true or false");
      }
      return !v.equals("false");
    }

    private Duration duration(String key) {
      return parsed(key, v -> Duration.ofMillis(Durations.parseMillis(v)));
    }

    private Duration durationOrZero(String key) {
      return parsed(key, v -> v.equals("0") ? Duration.ZERO
          : Duration.ofMillis(Durations.parseMillis(v)));
    }

    private int integer(String key, int min, int max) {
      String v = text(key);
      try {
        int n = Integer.parseInt(v);
        if (n < min || n > max) {
          problems.add("key '" + key + "': " + n + " is not between " + min + " and " + max);
          return -1;
        }
        return n;
      } catch (NumberFormatException e) {
        problems.add("key '" + key + "': '" + v + "' is not a whole number (" + min + " to " + max
            + ")");
        return -1;
      }
    }

    private double probability(String key) {
      String v = text(key);
      try {
        double d = Double.parseDouble(v);
        if (!(d >= 0 && d <= 1)) {
          problems.add("key '" + key + "': " + v + " is not between 0 and 1");
          return Double.NaN;
        }
        return d;
      } catch (NumberFormatException e) {
        problems.add("key '" + key + "': '" + v + "' is not a number between 0 and 1");
        return Double.NaN;
      }
    }

    private DeliveryGuarantee guarantee(String key) {
      String v = text(key);
      return switch (v.toLowerCase(Locale.ROOT)) {
        case "exactly_once" -> DeliveryGuarantee.EXACTLY_ONCE;
        case "at_least_once" -> DeliveryGuarantee.AT_LEAST_ONCE;
        default -> {
          problems.add("key '" + key + "': '" + v + "' is not one of exactly_once, at_least_once");
          yield null;
        }
      };
    }

    private Path file(String key, boolean required) {
      String v = required ? required(key) : optional(key);
      if (v == null) {
        return null;
      }
      Path p = Path.of(v);
      if (!Files.isRegularFile(p)) {
        problems.add("key '" + key + "': " + v + ": no such file");
        return null;
      }
      return p;
    }

    private Path modelPath(String key, boolean required) {
      String v = required ? required(key) : optional(key);
      if (v == null) {
        return null;
      }
      Path p = Path.of(v);
      if (!Files.exists(p)) {
        problems.add("key '" + key + "': " + v + ": no such file or directory");
        return null;
      }
      if (Files.isRegularFile(p)) {
        String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
        if (!name.endsWith(".json") && !name.endsWith(".onnx")) {
          problems.add("key '" + key + "': " + v + ": a model is a .json (XGBoost) or .onnx file");
          return null;
        }
      }
      return p;
    }
  }

  /** Attempts of one registry call of the sinks (registering the output schemas, once). */
  static final int SINK_REGISTRY_ATTEMPTS = 5;

  /**
   * The registry client's settings: credentials, TLS, and {@link #SINK_REGISTRY_ATTEMPTS} attempts
   * per call with the {@code registry.retry.*} backoff (the decoder makes one attempt per call and
   * retries through {@link #registryHoldBack()}).
   */
  public RegistryConfig registryConfig() {
    RegistryConfig.Credentials credentials =
        registryToken != null ? RegistryConfig.Credentials.bearer(Secret.reference(registryToken))
            : registryUser != null
                ? RegistryConfig.Credentials.basic(registryUser, Secret.reference(registryPassword))
            : RegistryConfig.Credentials.none();
    return RegistryConfig.of(registryUrl)
        .withCredentials(credentials)
        .withRetries(SINK_REGISTRY_ATTEMPTS, registryRetryBackoff, registryRetryMaxBackoff)
        .withTls(registryTls);
  }

  /**
   * {@code registry.outage.fail-after}, or its default: half of {@code transaction.timeout}.
   */
  public Duration outageFailAfter() {
    return registryOutageFailAfter != null ? registryOutageFailAfter
        : transactionTimeout.dividedBy(2);
  }

  /** How the decoder holds a record back while the registry is unreachable. */
  public RegistryHoldBack.Policy registryHoldBack() {
    return new RegistryHoldBack.Policy(registryRetryBackoff, registryRetryMaxBackoff,
        outageFailAfter());
  }

  /**
   * The Kafka client properties of {@code client}: {@code kafka.*}, then {@code source.kafka.*}
   * or {@code sink.kafka.*} over them, and the config provider that resolves {@code ${env:…}} and
   * {@code ${file:…}} in the values when the Kafka client is created ({@link
   * SecretConfigProvider}): the properties hold references only.
   */
  public Properties kafkaProperties(KafkaClient client) {
    Properties p = new Properties();
    kafkaProperties.forEach((k, v) -> {
      if (k.startsWith(KAFKA_PREFIX)) {
        p.setProperty(k.substring(KAFKA_PREFIX.length()), v);
      }
    });
    kafkaProperties.forEach((k, v) -> {
      if (k.startsWith(client.prefix)) {
        p.setProperty(k.substring(client.prefix.length()), v);
      }
    });
    SecretConfigProvider.register(p);
    return p;
  }

  /** A copy with {@code key} set to {@code value} (tests, tools): validated like any other. */
  public ScoringConfig with(String key, String value) throws ConfigException {
    Map<String, String> m = asMap();
    m.put(key, value);
    return of(m);
  }

  /** Whether any sink writes in Kafka transactions (what the timeouts are checked for). */
  public boolean exactlyOnce() {
    return anyExactlyOnce(scoresDelivery, featuresDelivery, deadLettersDelivery);
  }

  private static boolean anyExactlyOnce(DeliveryGuarantee... sinks) {
    for (DeliveryGuarantee g : sinks) {
      if (g == DeliveryGuarantee.EXACTLY_ONCE) {
        return true;
      }
    }
    return false;
  }

  /** The values as configuration text, secrets included (never log this; see toString). */
  public Map<String, String> asMap() {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("bootstrap.servers", bootstrapServers);
    m.put("input.topic", inputTopic);
    m.put("scores.topic", scoresTopic);
    m.put("features.topic", featuresTopic);
    m.put("dead-letters.topic", deadLettersTopic);
    m.put("group.id", groupId);
    m.put("registry.url", registryUrl);
    putIf(m, "registry.user", registryUser);
    putIf(m, "registry.password", registryPassword);
    putIf(m, "registry.token", registryToken);
    m.put("registry.retry.backoff", Durations.format(registryRetryBackoff.toMillis()));
    m.put("registry.retry.max-backoff", Durations.format(registryRetryMaxBackoff.toMillis()));
    putIf(m, "registry.outage.fail-after", registryOutageFailAfter == null ? null
        : Durations.format(registryOutageFailAfter.toMillis()));
    m.put("spec", specPath.toString());
    m.put("model", modelPath.toString());
    putIf(m, "shadow.model", shadowModelPath == null ? null : shadowModelPath.toString());
    m.put("model.poll.interval", Durations.format(modelPollInterval.toMillis()));
    m.put("thresholds.review", String.valueOf(thresholds.review()));
    m.put("thresholds.decline", String.valueOf(thresholds.decline()));
    m.put("model.error", onModelError.configValue());
    m.put("parallelism", String.valueOf(parallelism));
    m.put("max.parallelism", String.valueOf(maxParallelism));
    m.put("scores.delivery", scoresDelivery.name().toLowerCase(Locale.ROOT));
    m.put("features.delivery", featuresDelivery.name().toLowerCase(Locale.ROOT));
    m.put("dead-letters.delivery", deadLettersDelivery.name().toLowerCase(Locale.ROOT));
    m.put("sink.record-timestamp", sinkRecordTimestamp.configValue());
    m.put("transactional.id.prefix", transactionalIdPrefix);
    m.put("transaction.timeout", Durations.format(transactionTimeout.toMillis()));
    m.put("broker.transaction.max.timeout", Durations.format(brokerTransactionMaxTimeout.toMillis()));
    m.put("checkpoint.interval", Durations.format(checkpointInterval.toMillis()));
    m.put("checkpoint.timeout", Durations.format(checkpointTimeout.toMillis()));
    m.put("recovery.budget", Durations.format(recoveryBudget.toMillis()));
    m.put("checkpoint.tolerable-failures", String.valueOf(tolerableCheckpointFailures));
    m.put("dedupe.horizon", Durations.format(dedupeHorizon.toMillis()));
    m.put("future.tolerance", Durations.format(futureTolerance.toMillis()));
    m.put("starting.offsets", startingOffsets.toString());
    m.put("watermark.out-of-orderness", watermarks.outOfOrderness().isZero() ? "0"
        : Durations.format(watermarks.outOfOrderness().toMillis()));
    m.put("watermark.idle-timeout", Durations.format(watermarks.idleTimeout().toMillis()));
    m.put("watermark.alignment.max-drift", Durations.format(watermarks.maxDrift().toMillis()));
    m.put("watermark.interval", Durations.format(watermarks.interval().toMillis()));
    m.put("buffer.timeout", Durations.format(bufferTimeout.toMillis()));
    m.put("startup.checks", String.valueOf(startupChecks));
    m.put("state.empty-start", emptyStartAllowed ? "allow" : "refuse");
    if (registryTls != null) {
      putIf(m, "registry.ssl.truststore.location", registryTls.truststore());
      putIf(m, "registry.ssl.truststore.password", registryTls.truststorePassword() == null
          ? null : registryTls.truststorePassword().referenceText());
      putIf(m, "registry.ssl.keystore.location", registryTls.keystore());
      putIf(m, "registry.ssl.keystore.password", registryTls.keystorePassword() == null
          ? null : registryTls.keystorePassword().referenceText());
    }
    m.putAll(kafkaProperties);
    return m;
  }

  private static void putIf(Map<String, String> m, String k, String v) {
    if (v != null) {
      m.put(k, v);
    }
  }

  /** Every value, with every secret (and anything that looks like one) shown as {@code ***}. */
  @Override
  public String toString() {
    Map<String, String> m = asMap();
    m.replaceAll((k, v) -> {
      String property = kafkaPropertyName(k);
      return SECRET_KEYS.contains(k) || (property != null && isSecretProperty(property))
          ? "***" : v;
    });
    return "ScoringConfig" + m;
  }
}
