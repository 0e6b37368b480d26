package dev.vigil.transforms.run;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.EventJson;
import dev.vigil.transforms.offline.Backfill;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.testing.RandomStreams;
import dev.vigil.transforms.testing.TestClusters;
import dev.vigil.transforms.testing.TestSpecs;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code vigil run} end to end, in process on the shared MiniCluster: the file it writes at
 * parallelism 1 and 2 is byte for byte the file {@code features backfill} writes, in the issue's
 * format; late events are counted; bad input and arguments exit 2 with a message naming them.
 */
class RunCommandITCase {
  @RegisterExtension
  static final MiniClusterExtension CLUSTER = TestClusters.fourSlots();

  static final String HEADER =
      "source: {subject: payments.transactions-value, event_time: event_time}\n"
          + "entities: {card: card_id, merchant: merchant_id}\nfeatures:\n";

  @TempDir Path dir;

  record Result(int exit, String err) {}

  static Result run(String... args) {
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new RunCommand()).setErr(new PrintWriter(err, true)).execute(args);
    return new Result(exit, err.toString());
  }

  Path writeSpec(String features) throws Exception {
    Path spec = dir.resolve("features.yaml");
    Files.writeString(spec, HEADER + features);
    return spec;
  }

  Path writeEvents(CompiledSpec spec, List<Transaction> events) throws Exception {
    Path input = dir.resolve("events.jsonl");
    EventJson json = new EventJson(spec.schema());
    Files.write(input, events.stream().map(json::format).toList());
    return input;
  }

  @Test
  void writesTheSameFileAsBackfillAtParallelismOneAndTwo() throws Exception {
    Path specFile = writeSpec(TestSpecs.ALL_FEATURES);
    CompiledSpec spec = CompiledSpec.load(specFile);
    Path input = writeEvents(spec, RandomStreams.generate(7, 3000, 50, 10));

    Path backfill = dir.resolve("backfill.jsonl");
    new Backfill(spec, 100_000, new PrintStream(new ByteArrayOutputStream(), true, "UTF-8"))
        .run(input, backfill);
    List<String> expected = Files.readAllLines(backfill);
    assertThat(expected).hasSize(3000);

    for (int parallelism : new int[] {1, 2}) {
      Path out = dir.resolve("out").resolve("p" + parallelism + ".jsonl");
      Result r = run("--spec", specFile.toString(), "--input", input.toString(),
          "--output", out.toString(), "--parallelism", Integer.toString(parallelism));
      assertThat(r.exit()).as(r.err()).isZero();
      assertThat(r.err()).contains("run: 3,000 events", "parallelism " + parallelism, "0 late");
      assertThat(Files.readAllLines(out)).as("parallelism %d", parallelism).isEqualTo(expected);
      assertThat(out.resolveSibling(out.getFileName() + ".partial")).doesNotExist();
    }
  }

  @Test
  void writesOneJsonObjectPerEventInTheIssuesFormat() throws Exception {
    Path specFile = writeSpec(
        "  - {name: card_txn_count_365d, entity: card, aggregation: count, window: 365d}\n"
            + "  - {name: merchant_last_card, entity: merchant, aggregation: last, field: card_id}\n");
    CompiledSpec spec = CompiledSpec.load(specFile);
    Path input = writeEvents(spec, RandomStreams.generate(3, 200, 5, 3));
    Path out = dir.resolve("out.jsonl");
    assertThat(run("--spec", specFile.toString(), "--input", input.toString(),
        "--output", out.toString()).exit()).isZero();

    List<String> lines = Files.readAllLines(out);
    assertThat(lines).hasSize(200);
    JsonNode second = new ObjectMapper().readTree(lines.get(1));
    assertThat(second.fieldNames()).toIterable()
        .containsExactly("transaction_id", "event_time", "features");
    assertThat(second.get("transaction_id").asText()).isEqualTo("t1");
    assertThat(second.get("event_time").asText()).matches(
        "\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z");
    assertThat(second.get("features").fieldNames()).toIterable()
        .containsExactly("card_txn_count_365d", "merchant_last_card");
    assertThat(second.get("features").get("card_txn_count_365d").isIntegralNumber()).isTrue();
  }

  @Test
  void anEventBehindTheWatermarkIsCountedLateAndStillCountsForLaterEvents() throws Exception {
    Path specFile =
        writeSpec("  - {name: c1h, entity: card, aggregation: count, window: 1h}\n");
    Path input = dir.resolve("events.jsonl");
    String line = "{\"transaction_id\":\"%s\",\"card_id\":\"c1\",\"merchant_id\":\"m1\","
        + "\"amount_cents\":100,\"currency\":\"EUR\",\"event_time\":\"%s\",\"channel\":\"POS\"}";
    Files.write(input, List.of(
        String.format(line, "a", "2026-03-01T05:00:00Z"),
        String.format(line, "b", "2026-03-01T05:00:01Z"),
        String.format(line, "late", "2026-03-01T04:30:00Z"))); // 30 min behind the watermark
    Path out = dir.resolve("out.jsonl");
    Result r = run("--spec", specFile.toString(), "--input", input.toString(),
        "--output", out.toString(), "--parallelism", "2", "--out-of-orderness", "500ms");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.err()).contains("run: 3 events", "1 late");
    List<String> lines = Files.readAllLines(out);
    assertThat(lines.get(0)).startsWith("{\"transaction_id\":\"late\"")
        .doesNotContain("null"); // scored from the state as it was: never left without values
    assertThat(lines.get(1)).startsWith("{\"transaction_id\":\"a\"")
        .endsWith("\"features\":{\"c1h\":0}}");
    assertThat(lines.get(2)).startsWith("{\"transaction_id\":\"b\"")
        .endsWith("\"features\":{\"c1h\":2}}"); // the late event counts for later events

    // With a bound that covers it, the same file is in order: every value exact.
    r = run("--spec", specFile.toString(), "--input", input.toString(),
        "--output", out.toString(), "--parallelism", "2", "--out-of-orderness", "1h");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.err()).contains("run: 3 events", "0 late");
    lines = Files.readAllLines(out);
    assertThat(lines.get(0)).endsWith("\"features\":{\"c1h\":0}}");
    assertThat(lines.get(1)).endsWith("\"features\":{\"c1h\":1}}");
    assertThat(lines.get(2)).endsWith("\"features\":{\"c1h\":2}}");
  }

  @Test
  void aBadLineExitsTwoNamingTheFileAndLineAndWritesNothing() throws Exception {
    Path specFile = writeSpec("  - {name: c1h, entity: card, aggregation: count, window: 1h}\n");
    CompiledSpec spec = CompiledSpec.load(specFile);
    Path input = writeEvents(spec, RandomStreams.generate(1, 3, 2, 2));
    List<String> lines = new ArrayList<>(Files.readAllLines(input));
    lines.add(1, "{\"transaction_id\": \"broken\"");
    Files.write(input, lines, StandardCharsets.UTF_8);
    Path out = dir.resolve("out.jsonl");
    Result r = run("--spec", specFile.toString(), "--input", input.toString(),
        "--output", out.toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("events.jsonl:2");
    assertThat(out).doesNotExist();
    assertThat(out.resolveSibling("out.jsonl.partial")).doesNotExist();
  }

  @Test
  void aParallelismAboveTheMaxParallelismExitsTwoNamingBoth() throws Exception {
    Path specFile = writeSpec("  - {name: c1h, entity: card, aggregation: count, window: 1h}\n");
    Path input = dir.resolve("events.jsonl");
    Files.writeString(input, "");
    Result r = run("--spec", specFile.toString(), "--input", input.toString(),
        "--output", dir.resolve("out.jsonl").toString(),
        "--parallelism", "4", "--max-parallelism", "2");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("--parallelism 4 --max-parallelism 2");
  }
}
