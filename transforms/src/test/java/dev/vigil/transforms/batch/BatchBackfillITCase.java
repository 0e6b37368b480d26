package dev.vigil.transforms.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.EventFiles;
import dev.vigil.transforms.io.EventJson;
import dev.vigil.transforms.offline.Backfill;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.testing.RandomStreams;
import dev.vigil.transforms.testing.TestClusters;
import dev.vigil.transforms.testing.TestSpecs;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The batch backfill on the shared MiniCluster against the single-JVM {@link Backfill}: row for row
 * equal (values, ids, times, order) at parallelism 1 and 3, on out-of-order streams with ties and
 * events late for the stream, three entities (one read {@code as_of} 10 minutes back, one whose key
 * is often null).
 */
class BatchBackfillITCase {
  @RegisterExtension
  static final MiniClusterExtension CLUSTER = TestClusters.fourSlots();

  static final String ENTITIES =
      "{card: card_id, merchant: {key: merchant_id, as_of: 10m}, device: device_id}";
  static final String FEATURES = TestSpecs.ALL_FEATURES
      + "  - {name: dev_c1h, entity: device, aggregation: count, window: 1h}\n"
      + "  - {name: dev_cards1d, entity: device, aggregation: distinct_count, field: card_id,"
      + " window: 1d}\n"
      + "  - {name: dev_last_ch, entity: device, aggregation: last, field: channel}\n";

  @TempDir Path dir;
  final ByteArrayOutputStream progress = new ByteArrayOutputStream();

  CompiledSpec spec() throws Exception {
    return TestSpecs.spec(ENTITIES, FEATURES);
  }

  Path writeJson(CompiledSpec spec, List<Transaction> events, Path file) throws Exception {
    EventJson json = new EventJson(spec.schema());
    Files.createDirectories(file.getParent());
    Files.write(file, events.stream().map(json::format).toList());
    return file;
  }

  List<String> singleJvm(CompiledSpec spec, Path input) throws Exception {
    Path out = dir.resolve("single.jsonl");
    Backfill.Summary s =
        new Backfill(spec, 500, new PrintStream(progress, true, StandardCharsets.UTF_8))
            .run(input, out);
    assertThat(s.sorted()).as("the input is out of order").isTrue();
    return Files.readAllLines(out);
  }

  BatchBackfill.Summary batch(CompiledSpec spec, int parallelism, Path input, Path out)
      throws Exception {
    // Small splits: several per subtask, so lines straddle split bounds.
    return new BatchBackfill(spec, BatchBackfill.Options.of(parallelism).withSplitBytes(20_000),
        new PrintStream(progress, true, StandardCharsets.UTF_8)).run(input, out);
  }

  static List<String> concatenated(Path out, int parts) throws Exception {
    List<Path> files = OutputDirectory.parts(out);
    assertThat(files).hasSize(parts);
    List<String> lines = new ArrayList<>();
    for (Path p : files) {
      lines.addAll(Files.readAllLines(p));
    }
    return lines;
  }

  @Test
  void equalsTheSingleJvmBackfillRowForRowAtParallelismOneAndThree() throws Exception {
    CompiledSpec spec = spec();
    List<Transaction> events = RandomStreams.outOfOrder(41, 4000, 60, 12, 40);
    Path input = writeJson(spec, events, dir.resolve("events.jsonl"));
    List<String> expected = singleJvm(spec, input);
    assertThat(expected).hasSize(4000);

    for (int p : new int[] {1, 3}) {
      Path out = dir.resolve("p" + p + ".jsonl");
      BatchBackfill.Summary s = batch(spec, p, input, out);
      assertThat(s.events()).isEqualTo(4000);
      assertThat(s.late()).isZero(); // sorted by time per key: nothing is late for a backfill
      assertThat(concatenated(out, p)).as("parallelism %d", p).isEqualTo(expected);
      assertThat(dir.resolve("p" + p + ".jsonl.partial")).doesNotExist();
    }
  }
}
