package dev.vigil.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** The benchmark harness end to end on a tiny input: one JSON line per contender, in the format. */
class FeaturesBenchmarkITCase {
  @Test
  void writesOneJsonLinePerContenderWithStateAndThroughput() throws Exception {
    StringWriter out = new StringWriter();
    CommandLine cl = new CommandLine(new FeaturesBenchmark());
    cl.setOut(new PrintWriter(out));
    int exit = cl.execute("--cards", "20", "--days", "30", "--contenders", "pass_through,vigil",
        "--checkpoint-interval-ms", "500");
    assertThat(exit).isZero();
    List<String> lines = out.toString().lines().toList();
    assertThat(lines).hasSize(2);
    ObjectMapper json = new ObjectMapper();
    JsonNode vigil = json.readTree(lines.get(1));
    assertThat(vigil.get("benchmark").asText()).isEqualTo("features");
    assertThat(vigil.get("contender").asText()).isEqualTo("vigil");
    assertThat(vigil.get("cards").asInt()).isEqualTo(20);
    assertThat(vigil.get("events").asLong()).isEqualTo(1800);
    assertThat(vigil.get("events_per_second").asDouble()).isPositive();
    // six card features over a month for each card: tiles, not nothing
    assertThat(vigil.get("state_bytes_per_card").asLong()).isGreaterThan(50);
    assertThat(json.readTree(lines.get(0)).get("contender").asText()).isEqualTo("pass_through");
  }
}
