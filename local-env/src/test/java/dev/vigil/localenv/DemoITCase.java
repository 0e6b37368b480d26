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
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code vigil demo} in-process with small numbers: a real broker JVM, Apicurio, a MiniCluster,
 * the bootstrap savepoint, one task-manager kill mid-stream; the JSON line's invariants.
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
