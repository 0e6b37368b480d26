package dev.vigil.localenv;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.infra.Ports;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code vigil demo} in-process with small numbers: a real broker JVM, Apicurio, a MiniCluster
 * (or, with {@code --cluster}, a standalone cluster of its own JVMs), the bootstrap savepoint, one
 * task-manager kill mid-stream; the JSON line's invariants.
 */
class DemoITCase {
  static final Path SPEC = Path.of("..", "examples", "features.yaml");
  @TempDir Path dir;

  record Run(int exit, String out, String err) {}

  static Run demo(String... args) {
    CommandLine cl = new CommandLine(new DemoCommand());
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    return new Run(cl.execute(args), out.toString(), err.toString());
  }

  @Test
  void everyRecordIsScoredOrDeadLetteredOnceAcrossAKillAndTheStreamedFeaturesEqualOffline()
      throws Exception {
    int events = 1_500;
    int bad = 7; // one of each class
    Run r = demo("--spec", SPEC.toString(), "--work-dir", dir.toString(),
        "--cards", "50", "--history-days", "30", "--events", Integer.toString(events),
        "--bad-records", Integer.toString(bad), "--rate", "300", "--failures", "1",
        "--kafka-port", Integer.toString(Ports.free()),
        "--registry-port", Integer.toString(Ports.free()),
        "--web-port", Integer.toString(Ports.free()));
    assertThat(r.exit()).as(r.err()).isZero();
    List<String> json = r.out().lines().filter(l -> l.startsWith("{")).toList();
    assertThat(json).as(r.out()).hasSize(1);
    JsonNode s = new ObjectMapper().readTree(json.get(0));
    assertThat(s.get("events").asLong()).isEqualTo(events + bad);
    assertThat(s.get("dead_lettered").asLong()).isEqualTo(bad);
    assertThat(s.get("scored").asLong()).isEqualTo(s.get("events").asLong() - bad);
    assertThat(s.get("duplicates_scored").asLong()).isZero();
    assertThat(s.get("late").asLong()).isZero();
    assertThat(s.get("out_of_order").asLong()).isZero();
    assertThat(s.get("partitions").asInt()).as("the default input").isEqualTo(4);
    assertThat(s.get("scores_delivery").asText()).as("with --failures").isEqualTo("exactly_once");
    // every scored event, every feature of both entities
    assertThat(s.get("consistency_checked").asLong()).isEqualTo(events);
    assertThat(s.get("consistency_mismatches").asLong()).isZero();
    assertThat(s.get("latency_p99_ms").asDouble()).isPositive();
    assertThat(r.err()).contains("failure 1/1: task manager killed", "Flink web UI: http://127.0.0.1:");
    // the run's folder (history, savepoint, checkpoints) is gone
    try (Stream<Path> left = Files.list(dir)) {
      assertThat(left).isEmpty();
    }
  }

  /**
   * {@code --cluster}: the same run with the job as vigil-jobs.jar on a standalone cluster (1
   * JobManager + 2 TaskManager JVMs), restored from the bootstrap savepoint through REST; one
   * TaskManager process holding tasks is SIGKILLed and replaced. Afterwards no process of the
   * cluster is alive and the run's folder is gone.
   */
  @Test
  @Timeout(value = 6, unit = TimeUnit.MINUTES)
  void onAStandaloneClusterAKilledTaskManagerProcessLeavesEveryRecordScoredOnceAndNoProcessBehind()
      throws Exception {
    int events = 1_500;
    int bad = 7;
    Run r = demo("--cluster", "--spec", SPEC.toString(), "--work-dir", dir.toString(),
        "--cards", "50", "--history-days", "30", "--events", Integer.toString(events),
        "--bad-records", Integer.toString(bad), "--rate", "150", "--failures", "1",
        "--timeout", "180s",
        "--kafka-port", Integer.toString(Ports.free()),
        "--registry-port", Integer.toString(Ports.free()),
        "--web-port", Integer.toString(Ports.free()));
    try {
      assertThat(r.exit()).as(r.err()).isZero();
      List<String> json = r.out().lines().filter(l -> l.startsWith("{")).toList();
      assertThat(json).as(r.out()).hasSize(1);
      JsonNode s = new ObjectMapper().readTree(json.get(0));
      assertThat(s.get("flink").asText()).isEqualTo("standalone_cluster");
      assertThat(s.get("taskmanager_kills").asInt()).as(r.err()).isEqualTo(1);
      assertThat(s.get("events").asLong()).isEqualTo(events + bad);
      assertThat(s.get("dead_lettered").asLong()).isEqualTo(bad);
      assertThat(s.get("scored").asLong()).isEqualTo(events);
      assertThat(s.get("duplicates_scored").asLong()).isZero();
      assertThat(s.get("scores_delivery").asText()).isEqualTo("exactly_once");
      assertThat(s.get("consistency_checked").asLong()).isEqualTo(events);
      assertThat(s.get("consistency_mismatches").asLong()).isZero();
      assertThat(r.err()).contains("failure 1/1: TaskManager process taskmanager-",
          "SIGKILLed", "the job recovered from its last checkpoint",
          "vigil-jobs.jar uploaded through the REST API", "restored from the savepoint file:",
          "Flink web UI: http://127.0.0.1:");
    } finally {
      assertNoClusterProcessLeft();
    }
    try (Stream<Path> left = Files.list(dir)) {
      assertThat(left).isEmpty();
    }
  }

  @Test
  void clusterSizingWithoutClusterAndAMissingJobJarAreRefusedNamingTheFix() {
    Run r = demo("--spec", SPEC.toString(), "--work-dir", dir.toString(), "--taskmanagers", "3");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("--taskmanagers", "need --cluster");
    r = demo("--cluster", "--spec", SPEC.toString(), "--work-dir", dir.toString(),
        "--parallelism", "5");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("--parallelism 5 needs 5 task slots", "--taskmanagers 2 x --slots 2");
    String jar = System.getProperty(DemoCommand.JOBS_JAR_PROPERTY);
    System.setProperty(DemoCommand.JOBS_JAR_PROPERTY, dir.resolve("missing.jar").toString());
    try {
      r = demo("--cluster", "--spec", SPEC.toString(), "--work-dir", dir.toString());
      assertThat(r.exit()).isEqualTo(2);
      assertThat(r.err()).contains("missing.jar", "does not exist",
          "./mvnw -B -q package -DskipTests -pl jobs -am");
    } finally {
      if (jar == null) {
        System.clearProperty(DemoCommand.JOBS_JAR_PROPERTY);
      } else {
        System.setProperty(DemoCommand.JOBS_JAR_PROPERTY, jar);
      }
    }
  }

  /** No JobManager or TaskManager process of a run under this test's work dir is alive. */
  private void assertNoClusterProcessLeft() {
    String marker = "-Dvigil.cluster.dir=" + dir.toAbsolutePath().normalize();
    Set<Long> left = new HashSet<>();
    ProcessHandle.allProcesses().forEach(h -> {
      try {
        Path cmdline = Path.of("/proc", Long.toString(h.pid()), "cmdline");
        if (Files.isReadable(cmdline) && Stream.of(Files.readString(cmdline).split("\0"))
            .anyMatch(a -> a.startsWith(marker))) {
          left.add(h.pid());
        }
      } catch (Exception e) {
        // gone meanwhile
      }
    });
    assertThat(left).as("cluster processes still alive").isEmpty();
  }

  @Test
  void aTakenPortFailsFastNamingItAndItsOption() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      Run r = demo("--spec", SPEC.toString(), "--work-dir", dir.toString(),
          "--kafka-port", Integer.toString(Ports.free()),
          "--registry-port", Integer.toString(taken.getLocalPort()),
          "--web-port", Integer.toString(Ports.free()));
      assertThat(r.exit()).isEqualTo(2);
      assertThat(r.err()).contains("port " + taken.getLocalPort(), "--registry-port");
    }
  }
}
