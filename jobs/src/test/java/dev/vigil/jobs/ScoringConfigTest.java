package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoringConfigTest {
  @TempDir Path dir;
  Map<String, String> minimal;

  @BeforeEach
  void files() throws Exception {
    Path spec = Files.writeString(dir.resolve("spec.yaml"), "x");
    Path model = Files.writeString(dir.resolve("model.json"), "{}");
    minimal = new HashMap<>(Map.of(
        "bootstrap.servers", "127.0.0.1:9092",
        "registry.url", "http://127.0.0.1:8081",
        "spec", spec.toString(),
        "model", model.toString()));
  }

  @Test
  void defaultsFillEverythingButTheRequiredKeys() throws Exception {
    ScoringConfig c = ScoringConfig.of(minimal);
    assertThat(c.inputTopic()).isEqualTo("payments.transactions");
    assertThat(c.maxParallelism()).isEqualTo(128);
    assertThat(c.dedupeHorizon()).isEqualTo(Duration.ofHours(24));
    assertThat(c.futureTolerance()).isEqualTo(Duration.ofMinutes(5));
    assertThat(c.scoresDelivery()).isEqualTo(DeliveryGuarantee.EXACTLY_ONCE);
    assertThat(c.startingOffsets().mode()).isEqualTo(StartingOffsets.Mode.COMMITTED);
    assertThat(c.shadowModelPath()).isNull();
  }

  @Test
  void missingRequiredKeysAreAllNamedAtOnce() {
    assertThatThrownBy(() -> ScoringConfig.of(Map.of()))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("key 'bootstrap.servers': required")
        .hasMessageContaining("key 'registry.url': required")
        .hasMessageContaining("key 'spec': required")
        .hasMessageContaining("key 'model': required");
  }

  @Test
  void badValuesNameTheKeyAndWhatIsAllowed() {
    minimal.put("scores.delivery", "twice");
    minimal.put("dedupe.horizon", "1 day");
    minimal.put("parallelism", "zero");
    minimal.put("thresholds.review", "1.5");
    minimal.put("starting.offsets", "yesterday");
    minimal.put("input.topic", "bad topic");
    minimal.put("colour", "red");
    minimal.put("sink.record-timestamp", "wall");
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("key 'scores.delivery': 'twice' is not one of exactly_once, at_least_once")
        .hasMessageContaining("key 'dedupe.horizon': '1 day' is not a duration")
        .hasMessageContaining("key 'parallelism': 'zero' is not a whole number")
        .hasMessageContaining("key 'thresholds.review': 1.5 is not between 0 and 1")
        .hasMessageContaining("key 'starting.offsets': 'yesterday' is not one of committed, earliest, latest")
        .hasMessageContaining("key 'input.topic': 'bad topic' is not a Kafka topic name")
        .hasMessageContaining("key 'colour': unknown")
        .hasMessageContaining("key 'sink.record-timestamp': 'wall' is not one of processing_time, event_time");
  }

  @Test
  void theTransactionalIdPrefixIsTheGroupIdUnlessGiven() throws Exception {
    minimal.put("group.id", "fraud-eu-1");
    assertThat(ScoringConfig.of(minimal).transactionalIdPrefix()).isEqualTo("fraud-eu-1");
    minimal.put("transactional.id.prefix", "tx-eu-1");
    assertThat(ScoringConfig.of(minimal).transactionalIdPrefix()).isEqualTo("tx-eu-1");
  }

  @Test
  void sinkRecordsAreStampedWithProcessingTimeUnlessEventTimeIsAskedFor() throws Exception {
    assertThat(ScoringConfig.of(minimal).sinkRecordTimestamp())
        .isEqualTo(Sinks.RecordTimestamp.PROCESSING_TIME);
    minimal.put("sink.record-timestamp", "event_time");
    ScoringConfig c = ScoringConfig.of(minimal);
    assertThat(c.sinkRecordTimestamp()).isEqualTo(Sinks.RecordTimestamp.EVENT_TIME);
    assertThat(ScoringConfig.of(c.asMap()).sinkRecordTimestamp())
        .isEqualTo(Sinks.RecordTimestamp.EVENT_TIME);
  }

  @Test
  void exactlyOnceRefusesATransactionTimeoutNotAboveTheCheckpointInterval() {
    minimal.put("checkpoint.interval", "1m");
    minimal.put("transaction.timeout", "1m");
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("key 'transaction.timeout': 1m must be longer than"
            + " checkpoint.interval 1m");
  }

  @Test
  void exactlyOnceRefusesATransactionTimeoutAboveTheBrokersLimit() {
    minimal.put("transaction.timeout", "16m");
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("exceeds the broker's transaction.max.timeout.ms (15m");
    minimal.put("broker.transaction.max.timeout", "1h");
    assertThatCode(() -> ScoringConfig.of(minimal));
  }

  @Test
  void exactlyOnceRefusesToleratingFailedCheckpointsForLongerThanTheTransactionTimeout()
      throws Exception {
    assertThat(ScoringConfig.of(minimal).tolerableCheckpointFailures()).isEqualTo(5);
    minimal.put("checkpoint.interval", "1m");
    minimal.put("checkpoint.tolerable-failures", "9"); // 10 x 1m = the default 10m timeout
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("key 'checkpoint.tolerable-failures': 9 failed checkpoints in a row,"
            + " each taking up to 1m (the longer of checkpoint.interval and checkpoint.timeout),"
            + " outlast transaction.timeout 10m");
    minimal.put("checkpoint.tolerable-failures", "8");
    assertThat(ScoringConfig.of(minimal).tolerableCheckpointFailures()).isEqualTo(8);
    minimal.put("checkpoint.tolerable-failures", "-1");
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("key 'checkpoint.tolerable-failures': -1 is not between 0 and 1000");
  }

  @Test
  void exactlyOnceRefusesATransactionTimeoutThatASlowCheckpointPlusARecoveryCanOutlast()
      throws Exception {
    ScoringConfig defaults = ScoringConfig.of(minimal);
    assertThat(defaults.checkpointTimeout()).isEqualTo(Duration.ofMinutes(1));
    assertThat(defaults.recoveryBudget()).isEqualTo(Duration.ofMinutes(5));
    minimal.put("recovery.budget", "9m"); // 1m + 10s + 9m > the default 10m timeout
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("key 'transaction.timeout': 10m must exceed checkpoint.timeout 1m"
            + " + checkpoint.interval 10s + recovery.budget 9m with exactly_once delivery");
    minimal.put("transaction.timeout", "15m");
    assertThat(ScoringConfig.of(minimal).recoveryBudget()).isEqualTo(Duration.ofMinutes(9));
    // hanging storage: 6 attempts (5 tolerated) of up to 3m each outlast 15m
    minimal.put("checkpoint.timeout", "3m");
    minimal.put("recovery.budget", "5m");
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("key 'checkpoint.tolerable-failures': 5 failed checkpoints in a row,"
            + " each taking up to 3m (the longer of checkpoint.interval and checkpoint.timeout),"
            + " outlast transaction.timeout 15m");
    minimal.put("checkpoint.tolerable-failures", "3");
    assertThatCode(() -> ScoringConfig.of(minimal));
    minimal.put("scores.delivery", "at_least_once"); // no transactions, no budget to check
    minimal.put("features.delivery", "at_least_once");
    minimal.put("dead-letters.delivery", "at_least_once");
    minimal.put("transaction.timeout", "10m");
    assertThatCode(() -> ScoringConfig.of(minimal));
  }

  @Test
  void aRegistryOutageHoldsBackForHalfTheTransactionTimeoutByDefault() throws Exception {
    ScoringConfig c = ScoringConfig.of(minimal);
    assertThat(c.registryHoldBack()).isEqualTo(new RegistryHoldBack.Policy(
        Duration.ofMillis(200), Duration.ofSeconds(10), Duration.ofMinutes(5)));
    minimal.put("transaction.timeout", "2m");
    minimal.put("checkpoint.timeout", "15s");
    minimal.put("recovery.budget", "1m");
    assertThat(ScoringConfig.of(minimal).outageFailAfter()).isEqualTo(Duration.ofMinutes(1));
    minimal.put("registry.outage.fail-after", "90s");
    ScoringConfig explicit = ScoringConfig.of(minimal);
    assertThat(explicit.outageFailAfter()).isEqualTo(Duration.ofSeconds(90));
    assertThat(explicit.with("parallelism", "3").outageFailAfter())
        .isEqualTo(Duration.ofSeconds(90));
  }

  @Test
  void exactlyOnceRefusesHoldingBackLongerThanAnOpenTransactionSurvives() {
    minimal.put("transaction.timeout", "1m");
    minimal.put("checkpoint.interval", "10s");
    minimal.put("checkpoint.timeout", "10s");
    minimal.put("recovery.budget", "20s");
    // (tolerable failures + 1) x interval must stay below the timeout too: 4 x 10s < 1m
    minimal.put("checkpoint.tolerable-failures", "3");
    minimal.put("registry.outage.fail-after", "50s");
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("key 'registry.outage.fail-after': 50s must be shorter than"
            + " transaction.timeout 1m minus checkpoint.interval 10s");
    minimal.put("registry.outage.fail-after", "49s");
    assertThatCode(() -> ScoringConfig.of(minimal));
  }

  @Test
  void theRetiredRetryLimitAndABackoffCapBelowTheBackoffAreRefusedSayingWhy() {
    minimal.put("registry.retry.limit", "5");
    minimal.put("registry.retry.backoff", "2s");
    minimal.put("registry.retry.max-backoff", "1s");
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("key 'registry.retry.limit': no longer exists: a registry outage no"
            + " longer dead-letters records")
        .hasMessageContaining("key 'registry.retry.max-backoff': 1s is shorter than"
            + " registry.retry.backoff 2s");
  }

  private static void assertThatCode(org.assertj.core.api.ThrowableAssert.ThrowingCallable c) {
    org.assertj.core.api.Assertions.assertThatCode(c).doesNotThrowAnyException();
  }

  @Test
  void atLeastOnceEverywhereDoesNotCheckTheTransactionTimeout() {
    minimal.put("checkpoint.interval", "1h");
    minimal.put("scores.delivery", "at_least_once");
    minimal.put("features.delivery", "at_least_once");
    minimal.put("dead-letters.delivery", "AT_LEAST_ONCE");
    assertThatCode(() -> ScoringConfig.of(minimal));
  }

  @Test
  void secretsAreMaskedInToString() throws Exception {
    minimal.put("registry.user", "svc");
    minimal.put("registry.password", "${env:REGISTRY_PASSWORD}");
    minimal.put("kafka.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule"
        + " required username=\"vigil\" password=\"${env:KAFKA_PASSWORD}\";");
    minimal.put("sink.kafka.ssl.keystore.password", "${file:/secrets/keystore-password}");
    minimal.put("kafka.security.protocol", "SASL_SSL");
    ScoringConfig c = ScoringConfig.of(minimal);
    assertThat(c.toString()).contains("registry.user=svc").contains("registry.password=***")
        .contains("kafka.sasl.jaas.config=***").contains("sink.kafka.ssl.keystore.password=***")
        .contains("kafka.security.protocol=SASL_SSL")
        .doesNotContain("REGISTRY_PASSWORD").doesNotContain("username");
  }

  @Test
  void aLiteralSecretIsRefusedWithoutShowingIt() {
    minimal.put("registry.user", "svc");
    minimal.put("registry.password", "hunter2");
    minimal.put("registry.ssl.truststore.password", "changeit");
    minimal.put("kafka.sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule"
        + " required username=\"u\" password=\"pl41n\";");
    minimal.put("source.kafka.ssl.key.password", "k3y");
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("key 'registry.password': a secret; give it as ${env:NAME} or"
            + " ${file:PATH}")
        .hasMessageContaining("key 'registry.ssl.truststore.password': a secret")
        .hasMessageContaining("key 'kafka.sasl.jaas.config': a secret")
        .hasMessageContaining("key 'source.kafka.ssl.key.password': a secret")
        .hasMessageNotContaining("hunter2").hasMessageNotContaining("changeit")
        .hasMessageNotContaining("pl41n").hasMessageNotContaining("k3y")
        .hasMessageNotContaining("give both or neither");
  }

  @Test
  void aPasswordWithoutAUserIsRefused() {
    minimal.put("registry.password", "${env:P}");
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("'registry.user' and 'registry.password': give both or neither");
  }

  @Test
  void kafkaPropertiesApplyToEveryClientAndThePerClientOnesOverrideThem() throws Exception {
    minimal.put("kafka.security.protocol", "SASL_SSL");
    minimal.put("kafka.sasl.mechanism", "SCRAM-SHA-512");
    minimal.put("source.kafka.sasl.mechanism", "PLAIN");
    minimal.put("sink.kafka.linger.ms", "1");
    ScoringConfig c = ScoringConfig.of(minimal);
    var source = c.kafkaProperties(ScoringConfig.KafkaClient.SOURCE);
    var sink = c.kafkaProperties(ScoringConfig.KafkaClient.SINK);
    assertThat(source).containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "PLAIN").doesNotContainKey("linger.ms");
    assertThat(sink).containsEntry("security.protocol", "SASL_SSL")
        .containsEntry("sasl.mechanism", "SCRAM-SHA-512").containsEntry("linger.ms", "1");
    assertThat(sink).containsEntry("config.providers", "env,file");
    assertThat(c.with("parallelism", "3").kafkaProperties(ScoringConfig.KafkaClient.SINK))
        .isEqualTo(sink);
  }

  @Test
  void kafkaPropertiesTheJobOwnsAreRefusedSayingWhatToUseInstead() {
    minimal.put("source.kafka.isolation.level", "read_uncommitted");
    minimal.put("kafka.transactional.id", "x");
    minimal.put("sink.kafka.value.serializer", "x");
    minimal.put("kafka.bootstrap.servers", "elsewhere:9092");
    minimal.put("kafka.config.providers.x.class", "x");
    minimal.put("kafka.", "x");
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("key 'source.kafka.isolation.level': the job sets isolation.level"
            + " itself (the source always reads read_committed)")
        .hasMessageContaining("key 'kafka.transactional.id': the job sets transactional.id itself"
            + " (use the key transactional.id.prefix)")
        .hasMessageContaining("key 'sink.kafka.value.serializer': the job sets")
        .hasMessageContaining("key 'kafka.bootstrap.servers': the job sets bootstrap.servers"
            + " itself (use the key bootstrap.servers)")
        .hasMessageContaining("key 'kafka.config.providers.x.class': the job sets")
        .hasMessageContaining("key 'kafka.': unknown");
  }

  @Test
  void registryTlsStoresAreFilesWithReferencedPasswords() throws Exception {
    Path trust = Files.writeString(dir.resolve("trust.p12"), "x");
    minimal.put("registry.ssl.truststore.location", trust.toString());
    minimal.put("registry.ssl.truststore.password", "${env:TRUST}");
    minimal.put("registry.ssl.keystore.location", dir.resolve("missing.p12").toString());
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("key 'registry.ssl.keystore.location': " + dir.resolve("missing.p12")
            + ": no such file");
    minimal.remove("registry.ssl.keystore.location");
    ScoringConfig c = ScoringConfig.of(minimal, name -> null);
    assertThat(c.registryConfig().tls().truststore()).isEqualTo(trust.toString());
    assertThat(c.registryConfig().tls().truststorePassword().referenceText())
        .isEqualTo("${env:TRUST}");
    assertThat(c.toString()).contains("registry.ssl.truststore.password=***");
  }

  @Test
  void argumentsWinOverThePropertiesFile() throws Exception {
    Path props = dir.resolve("job.properties");
    StringBuilder text = new StringBuilder();
    minimal.forEach((k, v) -> text.append(k).append('=').append(v.replace("\\", "\\\\")).append('\n'));
    text.append("scores.topic=from-file\nparallelism=3\n");
    Files.writeString(props, text);
    ScoringConfig c = ScoringConfig.fromArgs(new String[] {
        "--config", props.toString(), "--parallelism", "4", "--starting.offsets=2026-03-01T00:00:00Z"});
    assertThat(c.scoresTopic()).isEqualTo("from-file");
    assertThat(c.parallelism()).isEqualTo(4);
    assertThat(c.startingOffsets().timestamp()).hasToString("2026-03-01T00:00:00Z");
  }

  @Test
  void aModelOfAnUnknownFormatAndAMissingSpecAreRefused() throws Exception {
    minimal.put("model", Files.writeString(dir.resolve("model.pkl"), "x").toString());
    minimal.put("spec", dir.resolve("nope.yaml").toString());
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("model.pkl: a model is a .json (XGBoost) or .onnx file")
        .hasMessageContaining("nope.yaml: no such file");
  }

  @Test
  void secretsAreReadWhereTheClientIsCreatedNotWhenTheConfigIsParsed() throws Exception {
    Path secret = Files.writeString(dir.resolve("password"), "s3cr=t}\n");
    minimal.put("registry.user", "${env:VIGIL_REGISTRY_USER}");
    minimal.put("registry.password", " ${file:" + secret + "} ");
    minimal.put("kafka.sasl.jaas.config", "x required password=\"${env:NOT_SET_HERE}\";");
    ScoringConfig c = ScoringConfig.of(minimal, Map.of("VIGIL_REGISTRY_USER", "vigil")::get);
    assertThat(c.registryUser()).isEqualTo("vigil");
    assertThat(c.registryPassword()).isEqualTo("${file:" + secret + "}");
    assertThat(c.toString()).doesNotContain("s3cr=t").contains("registry.password=***");
    // the registry client resolves it when it is created (in the operator's open)
    assertThat(c.registryConfig().credentials().authorizationHeader())
        .isEqualTo("Basic " + java.util.Base64.getEncoder().encodeToString(
            "vigil:s3cr=t}".getBytes(java.nio.charset.StandardCharsets.UTF_8)));
    Files.delete(secret);
    assertThatThrownBy(() -> c.registryConfig().credentials().authorizationHeader())
        .hasMessage("cannot read ${file:" + secret + "}: no such file");
  }

  @Test
  void theKafkaClientResolvesReferencesWhenItIsCreated() throws Exception {
    Path secret = Files.writeString(dir.resolve("kafka-password"), "pw\n");
    var provider = new SecretConfigProvider();
    provider.configure(Map.of("kind", "file"));
    assertThat(provider.get("", java.util.Set.of(secret.toString())).data())
        .containsEntry(secret.toString(), "pw");
    assertThatThrownBy(() -> provider.get("", java.util.Set.of(dir.resolve("no").toString())))
        .hasMessageContaining("cannot read ${file:" + dir.resolve("no") + "}: no such file");
    provider.configure(Map.of("kind", "env"));
    assertThatThrownBy(() -> provider.get("", java.util.Set.of("VIGIL_SURELY_UNSET")))
        .hasMessageContaining("environment variable VIGIL_SURELY_UNSET (from"
            + " ${env:VIGIL_SURELY_UNSET}) is not set");
    // the real Kafka client config applies it, with the registration kafkaProperties adds
    minimal.put("kafka.ssl.truststore.password", "${file:" + secret + "}");
    var p = ScoringConfig.of(minimal).kafkaProperties(ScoringConfig.KafkaClient.SOURCE);
    p.put("bootstrap.servers", "127.0.0.1:9092");
    p.put("key.deserializer", org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
    p.put("value.deserializer", org.apache.kafka.common.serialization.ByteArrayDeserializer.class);
    var consumer = new org.apache.kafka.clients.consumer.ConsumerConfig(p);
    assertThat(consumer.getPassword("ssl.truststore.password").value()).isEqualTo("pw");
  }

  @Test
  void anUnresolvedReferenceIsAProblemNamingTheKeyAndTheSource() {
    minimal.put("registry.user", "${env:VIGIL_REGISTRY_USER}");
    minimal.put("spec", "${file:" + dir.resolve("missing") + "}");
    minimal.put("bootstrap.servers", "${env:KAFKA}");
    assertThatThrownBy(() -> ScoringConfig.of(minimal, name -> null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("key 'registry.user': environment variable VIGIL_REGISTRY_USER"
            + " (from ${env:VIGIL_REGISTRY_USER}) is not set")
        .hasMessageContaining("key 'spec': cannot read ${file:"
            + dir.resolve("missing") + "}: no such file")
        .hasMessageContaining("key 'bootstrap.servers': environment variable KAFKA")
        .hasMessageNotContaining("key 'bootstrap.servers': required");
  }

  @Test
  void startupChecksAreOnUnlessTurnedOff() throws Exception {
    assertThat(ScoringConfig.of(minimal).startupChecks()).isTrue();
    minimal.put("startup.checks", "false");
    assertThat(ScoringConfig.of(minimal).startupChecks()).isFalse();
    minimal.put("startup.checks", "maybe");
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("key 'startup.checks': 'maybe' is not true or false");
  }

  @Test
  void aValueThatOnlyContainsAReferenceIsTakenAsItIs() throws Exception {
    minimal.put("group.id", "a${env:X}b");
    assertThat(ScoringConfig.of(minimal, name -> "no").groupId()).isEqualTo("a${env:X}b");
  }
}
