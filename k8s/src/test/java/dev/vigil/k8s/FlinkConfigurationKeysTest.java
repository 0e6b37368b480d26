package dev.vigil.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;

/**
 * Every key of every rendered FlinkDeployment's flinkConfiguration is a real Flink 2.2 key (Flink
 * ignores a misspelt key without a word), and its value parses as the option's type.
 */
class FlinkConfigurationKeysTest {
  private static final FlinkConfigKeys KEYS = FlinkConfigKeys.get();

  static List<String> targets() {
    return Manifests.TARGETS;
  }

  @ParameterizedTest
  @MethodSource("targets")
  void everyFlinkConfigurationKeyIsARealFlinkKeyWithAValueOfItsType(String target) {
    Map<String, Object> conf = Manifests.flinkConfiguration(Manifests.flinkDeployment(target));
    assertThat(conf).isNotEmpty();
    List<String> problems = new ArrayList<>();
    conf.forEach((key, value) -> {
      String p = KEYS.problem(key);
      if (p != null) {
        problems.add(p);
      } else if (!(value instanceof String s)) {
        // Strings only: operators before 1.11 read flinkConfiguration as Map<String, String>.
        problems.add("'" + key + "': " + value + " is not quoted as a string");
      } else if (!s.equals("set-by-overlay")) {
        String vp = KEYS.valueProblem(key, s);
        if (vp != null) {
          problems.add(vp);
        }
      }
    });
    assertThat(problems).as(target).isEmpty();
  }

  @Test
  void theCatalogueHoldsTheKeysOfEveryFlinkJarThisChecksAgainst() {
    assertThat(KEYS.jars).anyMatch(j -> j.startsWith("flink-core-"))
        .anyMatch(j -> j.startsWith("flink-runtime-"))
        .anyMatch(j -> j.startsWith("flink-clients-"))
        .anyMatch(j -> j.startsWith("flink-statebackend-rocksdb-"))
        .anyMatch(j -> j.startsWith("flink-kubernetes-"));
    assertThat(KEYS.keys).containsKeys(
        "state.backend.type", // StateBackendOptions (flink-core)
        "execution.checkpointing.incremental", // CheckpointingOptions
        "state.backend.incremental", // its deprecated key
        "state.checkpoints.dir", // deprecated key of execution.checkpointing.dir
        "high-availability.type", // HighAvailabilityOptions
        "jobmanager.memory.process.size", // JobManagerOptions (flink-core)
        "state.backend.rocksdb.memory.managed", // RocksDBOptions
        "state.backend.rocksdb.block.cache-size", // RocksDBConfigurableOptions
        "kubernetes.cluster-id", // KubernetesConfigOptions (flink-kubernetes)
        "high-availability.kubernetes.leader-election.lease-duration"); // KubernetesHaOptions
    assertThat(KEYS.reporterOptions).contains("factory.class", "interval", "port");
  }

  @Test
  void aMisspeltKeyIsCaughtNamingItAndTheClosestRealKey() {
    assertThat(KEYS.problem("execution.checkpointing.intervall")).isEqualTo(
        "'execution.checkpointing.intervall' is not a Flink 2.2 configuration key (closest:"
            + " 'execution.checkpointing.interval')");
    assertThat(KEYS.problem("state.backend.rocksdb.memory.manged")).contains(
        "closest: 'state.backend.rocksdb.memory.managed'");
  }

  @Test
  void aMisspeltReporterOrOperatorKeyIsCaught() {
    assertThat(KEYS.problem("metrics.reporter.prom.prot")).isEqualTo(
        "'metrics.reporter.prom.prot': 'prot' is not a reporter option (closest:"
            + " 'metrics.reporter.prom.port')");
    assertThat(KEYS.problem("kubernetes.operator.job.upgrade.last-state-fallback.enable"))
        .contains("closest: 'kubernetes.operator.job.upgrade.last-state-fallback.enabled'");
    assertThat(KEYS.problem("metrics.reporter.prom.factory.class")).isNull();
  }

  @Test
  void aValueOfTheWrongTypeIsCaught() {
    assertThat(KEYS.valueProblem("execution.checkpointing.interval", "ten seconds"))
        .startsWith("'execution.checkpointing.interval': 'ten seconds' does not parse");
    assertThat(KEYS.valueProblem("pipeline.max-parallelism", "128.0")).isNotNull();
    assertThat(KEYS.valueProblem("execution.checkpointing.interval", "10s")).isNull();
  }
}
