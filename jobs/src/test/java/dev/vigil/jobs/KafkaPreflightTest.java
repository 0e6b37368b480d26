package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.infra.Ports;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The start-up checks that need no broker (the rest: SecureKafkaITCase). */
class KafkaPreflightTest {
  @TempDir Path dir;

  Map<String, String> minimal() throws Exception {
    Map<String, String> m = new HashMap<>();
    m.put("bootstrap.servers", "127.0.0.1:" + Ports.free());
    m.put("registry.url", "http://127.0.0.1:8081");
    m.put("spec", Files.writeString(dir.resolve("spec.yaml"), "x").toString());
    m.put("model", Files.writeString(dir.resolve("model.json"), "{}").toString());
    return m;
  }

  @Test
  void aKafkaThatDoesNotAnswerIsNotAConfigurationProblem() throws Exception {
    // an outage at start (e.g. a JobManager failover re-running main) is left to the restarts
    ScoringConfig config = ScoringConfig.of(minimal());
    assertThatCode(() -> KafkaPreflight.check(config, Duration.ofSeconds(2)))
        .doesNotThrowAnyException();
  }

  @Test
  void aMissingKafkaSecretFileIsNamedBeforeAnythingConnects() throws Exception {
    Map<String, String> m = minimal();
    m.put("kafka.ssl.truststore.password", "${file:" + dir.resolve("nope") + "}");
    ScoringConfig config = ScoringConfig.of(m);
    assertThatThrownBy(() -> KafkaPreflight.check(config, Duration.ofSeconds(2)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("cannot create a Kafka client for the source")
        .hasMessageContaining("cannot read ${file:" + dir.resolve("nope") + "}: no such file");
  }

  @Test
  void aMissingRegistrySecretIsNamedAtStart() throws Exception {
    Map<String, String> m = minimal();
    m.put("registry.user", "svc");
    m.put("registry.password", "${env:VIGIL_SURELY_UNSET_PASSWORD}");
    ScoringConfig config = ScoringConfig.of(m);
    assertThatThrownBy(() -> ScoringJob.checkRegistrySecrets(config))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("the schema registry client: environment variable"
            + " VIGIL_SURELY_UNSET_PASSWORD (from ${env:VIGIL_SURELY_UNSET_PASSWORD}) is not set");
  }
}
