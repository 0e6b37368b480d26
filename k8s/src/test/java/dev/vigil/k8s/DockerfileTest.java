package dev.vigil.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.List;
import java.util.Map;
import org.apache.flink.metrics.reporter.MetricReporterFactory;
import org.junit.jupiter.api.Test;

/**
 * The image the manifests run: the Dockerfile's base image is the Flink of the build, its COPY
 * takes the jar the jobs module builds and puts it where every FlinkDeployment's jarURI points,
 * and the plugins the configuration needs are enabled.
 */
class DockerfileTest {
  private static final List<String> DOCKERFILE = Builds.dockerfile();

  @Test
  void theBaseImageIsTheOfficialFlinkImageOfThePinnedVersionOnJava17() {
    List<String> from = DOCKERFILE.stream().filter(l -> l.startsWith("FROM ")).toList();
    assertThat(from).containsExactly("FROM flink:" + Builds.flinkVersion() + "-java17");
    String[] v = Builds.flinkVersion().split("\\.");
    for (String target : Manifests.TARGETS) {
      assertThat(Yamls.at(Manifests.flinkDeployment(target), "spec.flinkVersion"))
          .as(target).isEqualTo("v" + v[0] + "_" + v[1]);
    }
  }

  @Test
  void theCopiedJarLandsAtEveryDeploymentsJarUri() {
    String[] copy = copy();
    for (String target : Manifests.TARGETS) {
      String jarUri = (String) Yamls.at(Manifests.flinkDeployment(target), "spec.job.jarURI");
      assertThat(jarUri).as(target).startsWith("local://");
      assertThat(copy[1]).as(target + ": COPY target = jarURI's path")
          .isEqualTo(jarUri.substring("local://".length()));
    }
    assertThat(copy[1]).startsWith("/opt/flink/usrlib/");
  }

  @Test
  void theCopiedJarIsTheJarTheJobsModuleBuilds() {
    String[] copy = copy();
    assumeTrue(Builds.jobsBuildsAShadedJar(), "jobs/pom.xml builds no shaded jar yet ("
        + Builds.jobsJarName() + "); the Dockerfile copies " + copy[0] + ": skipped until it does");
    assertThat(copy[0]).as("COPY source (the jobs module's jar in its default build folder)")
        .isEqualTo("jobs/target/" + Builds.jobsJarName());
  }

  @Test
  void thePrometheusReporterAndTheS3PluginTheConfigurationUsesAreEnabled() throws Exception {
    String run = String.join("\n", DOCKERFILE.stream().filter(l -> l.startsWith("RUN ")).toList());
    assertThat(run).contains("/opt/flink/plugins/metrics-prometheus/")
        .contains("/opt/flink/opt/flink-metrics-prometheus-");
    for (String target : Manifests.TARGETS) {
      Map<String, Object> conf = Manifests.flinkConfiguration(Manifests.flinkDeployment(target));
      String factory = (String) conf.get("metrics.reporter.prom.factory.class");
      assertThat(MetricReporterFactory.class.isAssignableFrom(Class.forName(factory)))
          .as(factory).isTrue();
      if (conf.values().stream().anyMatch(v -> String.valueOf(v).startsWith("s3://"))) {
        assertThat(run).as(target + " writes to s3://").contains("/opt/flink/plugins/s3-fs-");
      }
    }
  }

  /** {source, target} of the one COPY (flags such as --chown left out). */
  private static String[] copy() {
    List<String> copies = DOCKERFILE.stream().filter(l -> l.startsWith("COPY ")).toList();
    assertThat(copies).hasSize(1);
    List<String> words = List.of(copies.get(0).split("\\s+")).stream()
        .filter(w -> !w.startsWith("--")).toList();
    assertThat(words).hasSize(3);
    return new String[] {words.get(1), words.get(2)};
  }
}
