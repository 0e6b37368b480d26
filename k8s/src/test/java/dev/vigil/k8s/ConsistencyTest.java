package dev.vigil.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.jobs.ScoringConfig;
import dev.vigil.jobs.StartingOffsets;
import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.spec.Durations;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.flink.util.TimeUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the manifests and the job must agree on, beyond any schema: the job sets parallelism, max
 * parallelism and the checkpoint interval from scoring.properties (so those win over the
 * deployment's), every file the job is told to read is mounted from a ConfigMap that holds it,
 * savepoint upgrades are on, and the copies kustomize needs match their originals.
 */
class ConsistencyTest {

  static List<String> targets() {
    return Manifests.TARGETS;
  }

  static List<String> overlays() {
    return Manifests.OVERLAYS;
  }

  @ParameterizedTest
  @MethodSource("targets")
  void scoringPropertiesAgreeWithTheDeployment(String target) throws IOException {
    Map<String, Object> d = Manifests.flinkDeployment(target);
    Map<String, Object> conf = Manifests.flinkConfiguration(d);
    Properties p = scoringProperties(target, d);

    Set<String> known = ScoringConfig.KEYS.stream().map(ScoringConfig.Key::name)
        .collect(Collectors.toSet());
    for (String key : p.stringPropertyNames()) {
      String kafka = key.replaceFirst("^(source\\.|sink\\.)?kafka\\.", "");
      if (!kafka.equals(key)) {
        assertThat(ScoringConfig.RESERVED).as(key + ": a property the job owns")
            .doesNotContainKey(kafka);
      } else {
        assertThat(known).as("keys of scoring.properties").contains(key);
      }
    }

    assertThat(Integer.parseInt(p.getProperty("parallelism")))
        .as("parallelism = spec.job.parallelism").isEqualTo(Yamls.at(d, "spec.job.parallelism"));
    String maxParallelism = p.getProperty("max.parallelism",
        String.valueOf(OperatorUids.DEFAULT_MAX_PARALLELISM));
    assertThat(conf.get("pipeline.max-parallelism")).as("pipeline.max-parallelism")
        .isEqualTo(maxParallelism)
        .isEqualTo(String.valueOf(OperatorUids.DEFAULT_MAX_PARALLELISM));
    assertThat(Durations.parseMillis(p.getProperty("checkpoint.interval")))
        .as("checkpoint.interval = execution.checkpointing.interval")
        .isEqualTo(TimeUtils.parseDuration((String) conf.get("execution.checkpointing.interval"))
            .toMillis());
    assertThat(Durations.parseMillis(p.getProperty("checkpoint.timeout", "1m")))
        .as("checkpoint.timeout = execution.checkpointing.timeout")
        .isEqualTo(TimeUtils.parseDuration((String) conf.get("execution.checkpointing.timeout"))
            .toMillis());
    assertThat(p.getProperty("checkpoint.tolerable-failures", "5"))
        .as("checkpoint.tolerable-failures = execution.checkpointing.tolerable-failed-checkpoints")
        .isEqualTo(conf.get("execution.checkpointing.tolerable-failed-checkpoints"));
    assertThat(conf.get("restart-strategy.type")).as("a restart strategy, never Flink's default")
        .isEqualTo("exponential-delay");
    StartingOffsets.parse(p.getProperty("starting.offsets", "committed"));
    assertThat(conf.get("pipeline.generic-types")).isEqualTo("false");
  }

  @ParameterizedTest
  @MethodSource("targets")
  void everyFileTheJobReadsIsMountedFromAConfigMapThatHoldsIt(String target) throws IOException {
    Map<String, Object> d = Manifests.flinkDeployment(target);
    List<?> args = (List<?>) Yamls.at(d, "spec.job.args");
    assertThat(args).hasSize(2).first().isEqualTo("--config");
    Properties p = scoringProperties(target, d);
    assertThat(mounted(target, d, (String) args.get(1))).isNotNull();
    assertThat(mounted(target, d, p.getProperty("spec"))).isNotNull();
    // The model is a directory (hot swap): its ConfigMap holds at least one model file.
    Map<String, Object> model = mountedDirectory(target, d, p.getProperty("model"));
    assertThat(model.keySet()).anyMatch(k -> k.endsWith(".json") || k.endsWith(".onnx"));
  }

  @ParameterizedTest
  @MethodSource("targets")
  void everyReferenceInScoringPropertiesIsASecretMountedThere(String target)
      throws IOException {
    Map<String, Object> d = Manifests.flinkDeployment(target);
    Properties p = scoringProperties(target, d);
    var reference = java.util.regex.Pattern.compile("\\$\\{(file|env):([^}]+)}");
    for (String key : p.stringPropertyNames()) {
      // also inside a value (a JAAS config holds two)
      var m = reference.matcher(p.getProperty(key));
      while (m.find()) {
        if (m.group(1).equals("env")) {
          assertThat(secretEnv(d, m.group(2).strip())).as(target + ": " + key + " reads $"
              + m.group(2) + ": an env var of the Flink container from a Secret").isNotNull();
        } else {
          assertSecretMounted(target, d, key, m.group(2).strip());
        }
      }
      // a store the Kafka client or the registry client opens itself
      if (key.endsWith(".location")) {
        assertSecretMounted(target, d, key, p.getProperty(key).strip());
      }
    }
    if (target.contains("prod")) {
      assertThat(p.getProperty("registry.password")).as("prod: the registry password")
          .startsWith("${file:");
      assertThat(p.getProperty("kafka.security.protocol")).as("prod: Kafka security")
          .isEqualTo("SASL_SSL");
      assertThat(p.getProperty("kafka.sasl.jaas.config")).as("prod: the Kafka password")
          .contains("password=\"${env:KAFKA_PASSWORD}\"");
      assertThat(secretEnv(d, "KAFKA_PASSWORD")).isEqualTo("kafka-credentials");
    }
  }

  /** The Secret that env var {@code name} of the Flink container comes from, or null. */
  private static Object secretEnv(Map<String, Object> d, String name) {
    Object env = Yamls.at(d, "spec.podTemplate.spec.containers.0.env");
    if (!(env instanceof List<?> list)) {
      return null;
    }
    return list.stream().filter(e -> name.equals(Yamls.at(e, "name")))
        .map(e -> Yamls.at(e, "valueFrom.secretKeyRef.name")).findFirst().orElse(null);
  }

  private static void assertSecretMounted(String target, Map<String, Object> d, String key,
      String file) {
    String dir = parent(file);
    List<?> mounts = (List<?>) Yamls.at(d, "spec.podTemplate.spec.containers.0.volumeMounts");
    Object mount = mounts.stream().filter(x -> dir.equals(Yamls.at(x, "mountPath"))).findFirst()
        .orElseThrow(() -> new AssertionError(target + ": " + key + " reads " + file
            + " but nothing is mounted at " + dir + " (mounts: " + mountPaths(d) + ")"));
    List<?> volumes = (List<?>) Yamls.at(d, "spec.podTemplate.spec.volumes");
    Object volume = volumes.stream()
        .filter(v -> Yamls.at(mount, "name").equals(Yamls.at(v, "name"))).findFirst()
        .orElseThrow();
    assertThat(Yamls.at(volume, "secret.secretName")).as(target + ": " + key + " from a Secret")
        .isNotNull();
    Object items = Yamls.at(volume, "secret.items");
    if (items instanceof List<?> list) {
      String name = file.substring(dir.length() + 1);
      assertThat(list.stream().map(i -> Yamls.at(i, "path")).toList())
          .as(target + ": " + key + ": " + name + " among the Secret's items").contains(name);
    }
  }

  @ParameterizedTest
  @MethodSource("targets")
  void upgradesGoThroughSavepointsWithoutTheLastStateFallback(String target) {
    Map<String, Object> d = Manifests.flinkDeployment(target);
    Map<String, Object> conf = Manifests.flinkConfiguration(d);
    assertThat(Yamls.at(d, "spec.job.upgradeMode")).isEqualTo("savepoint");
    assertThat(conf.get("kubernetes.operator.job.upgrade.last-state-fallback.enabled"))
        .isEqualTo("false");
    assertThat(conf).containsEntry("state.backend.type", "rocksdb")
        .containsEntry("execution.checkpointing.incremental", "true")
        .containsEntry("high-availability.type", "kubernetes");
  }

  @ParameterizedTest
  @MethodSource("overlays")
  void overlaysSetEveryStorageLocation(String overlay) {
    Map<String, Object> d = Manifests.flinkDeployment(overlay);
    Map<String, Object> conf = Manifests.flinkConfiguration(d);
    for (String key : List.of("execution.checkpointing.dir",
        "execution.checkpointing.savepoint-dir", "high-availability.storageDir")) {
      String v = (String) conf.get(key);
      assertThat(v).as(overlay + ": " + key).matches("(s3|file)://.+");
      if (v.startsWith("file://")) {
        // A local path must be on a volume that JobManager and TaskManagers share.
        assertThat(mountPaths(d)).as(overlay + ": a mount under " + v)
            .anyMatch(m -> v.substring("file://".length()).startsWith(m + "/"));
      }
    }
    assertThat(Manifests.render(overlay).toString()).doesNotContain("set-by-overlay");
  }

  @Test
  void theLocalOverlayRunsOneSlotFromALoadedImageOnAClaim() {
    Map<String, Object> d = Manifests.flinkDeployment("overlays/local");
    assertThat(Yamls.at(d, "spec.imagePullPolicy")).isEqualTo("Never");
    assertThat(Yamls.at(d, "spec.job.parallelism")).isEqualTo(1);
    List<Map<String, Object>> rendered = Manifests.render("overlays/local");
    List<String> claims = ((List<?>) Yamls.at(d, "spec.podTemplate.spec.volumes")).stream()
        .map(v -> (String) Yamls.at(v, "persistentVolumeClaim.claimName"))
        .filter(c -> c != null).toList();
    assertThat(claims).singleElement().satisfies(claim ->
        assertThat(Kustomize.find(rendered, "v1", "PersistentVolumeClaim", claim)).isNotNull());
  }

  @Test
  void theProdOverlayRunsAtLeastFourOnS3() {
    Map<String, Object> d = Manifests.flinkDeployment("overlays/prod");
    assertThat((Integer) Yamls.at(d, "spec.job.parallelism")).isGreaterThanOrEqualTo(4);
    assertThat(Manifests.flinkConfiguration(d).get("execution.checkpointing.savepoint-dir"))
        .asString().startsWith("s3://");
  }

  @Test
  void theSpecAndModelCopiesMatchTheirOriginals() throws IOException {
    assertThat(Files.readString(Repo.k8s().resolve("base/config/features.yaml")))
        .as("k8s/base/config/features.yaml is a copy of examples/features.yaml (kustomize reads"
            + " no file outside k8s/base): cp examples/features.yaml k8s/base/config/")
        .isEqualTo(Files.readString(Repo.root().resolve("examples/features.yaml")));
    assertThat(Files.readString(Repo.k8s().resolve("base/model/fraud-demo.json")))
        .as("k8s/base/model/fraud-demo.json is a copy of the demo model: cp"
            + " models/src/main/resources/dev/vigil/models/demo/fraud-demo.json k8s/base/model/")
        .isEqualTo(Files.readString(Repo.root().resolve(
            "models/src/main/resources/dev/vigil/models/demo/fraud-demo.json")));
  }

  private static Properties scoringProperties(String target, Map<String, Object> d)
      throws IOException {
    List<?> args = (List<?>) Yamls.at(d, "spec.job.args");
    Map<String, Object> data = mountedConfigMap(target, d, parent((String) args.get(1)));
    Properties p = new Properties();
    p.load(new StringReader((String) data.get(fileName((String) args.get(1)))));
    return p;
  }

  /** The ConfigMap data key serving {@code file}, or null. */
  private static Object mounted(String target, Map<String, Object> d, String file) {
    return mountedConfigMap(target, d, parent(file)).get(fileName(file));
  }

  private static Map<String, Object> mountedDirectory(String target, Map<String, Object> d,
      String dir) {
    return mountedConfigMap(target, d, dir);
  }

  /** The data of the ConfigMap mounted at {@code dir} in the Flink container. */
  private static Map<String, Object> mountedConfigMap(String target, Map<String, Object> d,
      String dir) {
    List<?> mounts = (List<?>) Yamls.at(d, "spec.podTemplate.spec.containers.0.volumeMounts");
    List<?> volumes = (List<?>) Yamls.at(d, "spec.podTemplate.spec.volumes");
    assertThat(Yamls.at(d, "spec.podTemplate.spec.containers.0.name"))
        .isEqualTo("flink-main-container");
    for (Object m : mounts) {
      if (dir.equals(Yamls.at(m, "mountPath"))) {
        for (Object v : volumes) {
          if (Yamls.at(m, "name").equals(Yamls.at(v, "name"))) {
            String cm = (String) Yamls.at(v, "configMap.name");
            assertThat(cm).as(target + ": volume for " + dir + " is a ConfigMap").isNotNull();
            Map<String, Object> res = Kustomize.find(Manifests.render(target), "v1", "ConfigMap",
                cm);
            assertThat(res).as(target + ": ConfigMap " + cm + " is rendered").isNotNull();
            return Yamls.map(res.get("data"), cm);
          }
        }
      }
    }
    throw new AssertionError(target + ": nothing is mounted at " + dir + " (mounts: " + mounts
        + ")");
  }

  private static List<String> mountPaths(Map<String, Object> d) {
    return ((List<?>) Yamls.at(d, "spec.podTemplate.spec.containers.0.volumeMounts")).stream()
        .map(m -> (String) Yamls.at(m, "mountPath")).toList();
  }

  private static String parent(String file) {
    return file.substring(0, file.lastIndexOf('/'));
  }

  private static String fileName(String file) {
    return file.substring(file.lastIndexOf('/') + 1);
  }
}
