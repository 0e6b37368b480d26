package dev.vigil.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The pipeline benchmark end to end on a tiny input (real broker, real registry, MiniCluster, the
 * default 4 input partitions): one JSON line per contender (the two pass-throughs and Vigil), in
 * the format, every pre-produced event scored; the untimed warm-up
 * with its wait for the JIT (cut short here by {@code --jit-settle-seconds}), and the per-event
 * latencies file.
 */
class PipelineBenchmarkITCase {
  @TempDir Path dir;

  @Test
  void writesOneJsonLinePerContenderWithEveryInputEventScored() throws Exception {
    StringWriter out = new StringWriter();
    CommandLine cl = new CommandLine(new PipelineBenchmark());
    cl.setOut(new PrintWriter(out));
    Path latencies = dir.resolve("latencies.txt");
    int exit = cl.execute("--events", "2000", "--rate", "500", "--warmup-seconds", "1",
        "--latency-seconds", "2", "--cards", "200", "--guarantees", "at_least_once",
        "--contenders", "pass_through,keyed_pass_through,vigil", "--spec", "../examples/features.yaml",
        "--time-cap-seconds", "60", "--warmup-events", "500", "--jit-settle-seconds", "1",
        "--latencies", latencies.toString());
    assertThat(exit).isZero();
    // Per contender: a header and one line per measured event (2 s at 500/s), of three numbers,
    // the part until scored_at within the whole.
    List<String> perEvent = Files.readAllLines(latencies);
    assertThat(perEvent.stream().filter(l -> l.startsWith("#"))).hasSize(3);
    List<double[]> measured = perEvent.stream().filter(l -> !l.startsWith("#"))
        .map(l -> Arrays.stream(l.split(" ")).mapToDouble(Double::parseDouble).toArray())
        .toList();
    assertThat(measured).hasSize(3 * 1000);
    assertThat(measured).allSatisfy(v -> {
      assertThat(v).hasSize(3);
      assertThat(v[1]).isPositive();
      assertThat(v[2]).isLessThanOrEqualTo(v[1] + 1); // scored_at has millisecond resolution
    });
    List<String> lines = out.toString().lines().toList();
    assertThat(lines).hasSize(3);
    ObjectMapper json = new ObjectMapper();
    List<String> contenders = List.of("pass_through", "keyed_pass_through", "vigil");
    for (int i = 0; i < 3; i++) {
      JsonNode line = json.readTree(lines.get(i));
      assertThat(line.fieldNames()).toIterable().containsExactly("benchmark", "contender",
          "guarantee", "events", "events_per_second", "latency_p50_ms", "latency_p99_ms");
      assertThat(line.get("benchmark").asText()).isEqualTo("pipeline");
      assertThat(line.get("contender").asText()).isEqualTo(contenders.get(i));
      assertThat(line.get("guarantee").asText()).isEqualTo("at_least_once");
      assertThat(line.get("events").asLong()).isEqualTo(2000);
      assertThat(line.get("events_per_second").asDouble()).isPositive();
      assertThat(line.get("latency_p50_ms").asDouble()).isPositive();
      assertThat(line.get("latency_p99_ms").asDouble())
          .isGreaterThanOrEqualTo(line.get("latency_p50_ms").asDouble());
    }
  }
}
