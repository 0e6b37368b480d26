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
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("key 'scores.delivery': 'twice' is not one of exactly_once, at_least_once")
        .hasMessageContaining("key 'dedupe.horizon': '1 day' is not a duration")
        .hasMessageContaining("key 'parallelism': 'zero' is not a whole number")
        .hasMessageContaining("key 'thresholds.review': 1.5 is not between 0 and 1")
        .hasMessageContaining("key 'starting.offsets': 'yesterday' is not one of committed, earliest, latest")
        .hasMessageContaining("key 'input.topic': 'bad topic' is not a Kafka topic name")
        .hasMessageContaining("key 'colour': unknown");
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
    minimal.put("registry.password", "hunter2");
    ScoringConfig c = ScoringConfig.of(minimal);
    assertThat(c.toString()).contains("registry.user=svc").contains("registry.password=***")
        .doesNotContain("hunter2");
    minimal.remove("registry.user");
    minimal.remove("registry.password");
    minimal.put("registry.token", "s3cr3t-token");
    assertThat(ScoringConfig.of(minimal).toString()).doesNotContain("s3cr3t-token");
  }

  @Test
  void aPasswordWithoutAUserIsRefused() {
    minimal.put("registry.password", "hunter2");
    assertThatThrownBy(() -> ScoringConfig.of(minimal))
        .hasMessageContaining("'registry.user' and 'registry.password': give both or neither")
        .hasMessageNotContaining("hunter2");
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
  void credentialsComeFromTheEnvironmentOrAMountedFile() throws Exception {
    Path secret = Files.writeString(dir.resolve("password"), "s3cr=t}\n");
    minimal.put("registry.user", "${env:VIGIL_REGISTRY_USER}");
    minimal.put("registry.password", " ${file:" + secret + "} ");
    ScoringConfig c = ScoringConfig.of(minimal, Map.of("VIGIL_REGISTRY_USER", "vigil")::get);
    assertThat(c.registryUser()).isEqualTo("vigil");
    assertThat(c.registryPassword()).isEqualTo("s3cr=t}");
    assertThat(c.toString()).doesNotContain("s3cr=t").contains("registry.password=***");
  }

  @Test
  void anUnresolvedReferenceIsAProblemNamingTheKeyAndTheSource() {
    minimal.put("registry.user", "${env:VIGIL_REGISTRY_USER}");
    minimal.put("registry.password", "${file:" + dir.resolve("missing") + "}");
    minimal.put("bootstrap.servers", "${env:KAFKA}");
    assertThatThrownBy(() -> ScoringConfig.of(minimal, name -> null))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("key 'registry.user': environment variable VIGIL_REGISTRY_USER"
            + " (from ${env:VIGIL_REGISTRY_USER}) is not set")
        .hasMessageContaining("key 'registry.password': cannot read ${file:"
            + dir.resolve("missing") + "}: no such file")
        .hasMessageContaining("key 'bootstrap.servers': environment variable KAFKA")
        .hasMessageNotContaining("key 'bootstrap.servers': required");
  }

  @Test
  void aValueThatOnlyContainsAReferenceIsTakenAsItIs() throws Exception {
    minimal.put("registry.user", "u");
    minimal.put("registry.password", "a${env:X}b");
    assertThat(ScoringConfig.of(minimal, name -> "no").registryPassword()).isEqualTo("a${env:X}b");
  }
}
