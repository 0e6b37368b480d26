package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The start-up check against a real broker (KRaft, Kafka's default transaction.max.timeout.ms of
 * 15 min): a transaction timeout above the brokers' limit is refused before the job is submitted,
 * even when the configuration's own idea of the limit would let it through.
 */
class KafkaPreflightITCase {
  @TempDir Path dir;

  Map<String, String> keys(String name) throws Exception {
    Path model = TestModels.write(dir.resolve("model.json"),
        TestingJob.spec().spec().modelInputs(), -1.0, 1.0);
    return TestingJob.config(name, model, 1);
  }

  @Test
  void aTransactionTimeoutAboveTheBrokersLimitIsRefusedNamingBothValues() throws Exception {
    Map<String, String> m = keys("preflight-tx");
    m.put("transaction.timeout", "20m");
    m.put("broker.transaction.max.timeout", "1h"); // wrong: the broker's is 15 min
    ScoringConfig config = ScoringConfig.of(m);
    assertThatThrownBy(() -> KafkaPreflight.check(config, Duration.ofSeconds(30)))
        .isInstanceOf(ConfigException.class)
        .hasMessageContaining("transaction.timeout (20m) exceeds transaction.max.timeout.ms of"
            + " broker")
        .hasMessageContaining("(15m, read from Kafka at")
        .hasMessageContaining("Lower transaction.timeout to at most 15m");
  }

  @Test
  void aTransactionTimeoutWithinTheBrokersLimitPasses() throws Exception {
    Map<String, String> m = keys("preflight-tx-ok");
    m.put("transaction.timeout", "14m");
    ScoringConfig config = ScoringConfig.of(m);
    assertThatCode(() -> KafkaPreflight.check(config, Duration.ofSeconds(30)))
        .doesNotThrowAnyException();
    // at-least-once sinks open no transactions: not checked
    m.put("transaction.timeout", "20m");
    m.put("broker.transaction.max.timeout", "1h");
    for (String sink : new String[] {"scores", "features", "dead-letters"}) {
      m.put(sink + ".delivery", "at_least_once");
    }
    assertThatCode(() -> KafkaPreflight.check(ScoringConfig.of(m), Duration.ofSeconds(30)))
        .doesNotThrowAnyException();
  }
}
