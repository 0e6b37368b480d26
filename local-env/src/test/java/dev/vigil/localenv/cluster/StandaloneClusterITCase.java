package dev.vigil.localenv.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The cluster's lifecycle on its own: a failed start leaves nothing behind; a job whose main()
 * exits does not take the JobManager with it; stop by pid file.
 */
class StandaloneClusterITCase {
  static final Path JOBS_JAR = Path.of(System.getProperty("vigil.jobs.jar",
      "../jobs/target/vigil-jobs.jar"));
  @TempDir Path dir;

  @Test
  void aMemorySizeThatDoesNotFitFailsBeforeAnyProcessStartsNamingTheOption() {
    StandaloneCluster.Options o = StandaloneCluster.Options.defaults(dir);
    StandaloneCluster.Options tooSmall = new StandaloneCluster.Options(1, 1, "100m",
        o.jmMemory(), 0, dir, List.of(), java.util.Map.of(), true);
    assertThatThrownBy(() -> StandaloneCluster.start(tooSmall))
        .isInstanceOf(ClusterException.class).hasMessageContaining("--tm-memory 100m");
    assertThat(processesOf(dir)).isEmpty();
    assertThat(dir.resolve(StandaloneCluster.PID_FILE)).doesNotExist();
  }

  @Test
  void aTakenRestPortFailsNamingTheOption() throws Exception {
    try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      StandaloneCluster.Options o = StandaloneCluster.Options.defaults(dir);
      StandaloneCluster.Options taken = new StandaloneCluster.Options(1, 1, o.tmMemory(),
          o.jmMemory(), s.getLocalPort(), dir, List.of(), java.util.Map.of(), true);
      assertThatThrownBy(() -> StandaloneCluster.start(taken))
          .isInstanceOf(ClusterException.class).hasMessageContaining("--rest-port");
    }
    assertThat(processesOf(dir)).isEmpty();
  }

  @Test
  void aJobThatExitsLeavesTheJobManagerUpAndStopReadsThePidFile() throws Exception {
    try (StandaloneCluster cluster = StandaloneCluster.start(
        StandaloneCluster.Options.defaults(dir).withTaskManagers(1))) {
      assertThat(cluster.registeredTaskManagers()).containsExactly("taskmanager-0");
      assertThat(processesOf(dir)).hasSize(2);
      assertThat(Files.readString(dir.resolve("conf").resolve("config.yaml")))
          .contains("state.backend.type: rocksdb", "rest.bind-address: 127.0.0.1",
              "metrics.reporter.prom.factory.class:"
                  + " org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
      assertThat(StandaloneCluster.recorded(dir)).extracting(StandaloneCluster.Recorded::name)
          .containsExactly("jobmanager", "taskmanager-0");
      assertThat(StandaloneCluster.recorded(dir)).allMatch(StandaloneCluster.Recorded::alive);
      assertThat(cluster.jobManager().log()).exists();

      // A bad argument: the job's main() fails with the problems (it throws, never exits), and
      // the JobManager, where it runs, stays up.
      ClusterJobs jobs = new ClusterJobs(cluster.restUrl());
      String jar = jobs.uploadJar(JOBS_JAR);
      assertThatThrownBy(() -> jobs.run(jar, ClusterJobs.Run.of("dev.vigil.jobs.ScoringJob",
          List.of("--no.such.key", "1"), 1)))
          .isInstanceOf(ClusterException.class)
          .hasMessageContaining("/jars/" + jar + "/run answered HTTP 400")
          .hasMessageContaining("problems in the configuration");
      assertThat(cluster.jobManager().process().isAlive()).isTrue();
      assertThat(Files.readString(cluster.logDir().resolve("jobmanager.out")))
          .contains("key 'spec': required");
      assertThat(jobs.jobs()).isEmpty();

      List<StandaloneCluster.Recorded> stopped = StandaloneCluster.stop(dir);

      assertThat(stopped).hasSize(2);
      assertThat(processesOf(dir)).isEmpty();
      assertThat(dir.resolve(StandaloneCluster.PID_FILE)).doesNotExist();
      assertThat(cluster.jobManager().process().waitFor(1, java.util.concurrent.TimeUnit.SECONDS))
          .isTrue();
    }
  }

  /** Pids of live processes whose command line names this work dir. */
  static Set<Long> processesOf(Path workDir) {
    String marker = "-D" + StandaloneCluster.MARKER_PROPERTY + "="
        + workDir.toAbsolutePath().normalize();
    Set<Long> pids = new HashSet<>();
    ProcessHandle.allProcesses().forEach(h -> {
      try {
        Path cmdline = Path.of("/proc", Long.toString(h.pid()), "cmdline");
        if (Files.isReadable(cmdline)
            && List.of(Files.readString(cmdline).split("\0")).contains(marker)) {
          pids.add(h.pid());
        }
      } catch (Exception e) {
        // gone meanwhile
      }
    });
    return pids;
  }
}
