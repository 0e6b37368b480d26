package dev.vigil.transforms.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.EventFiles;
import dev.vigil.transforms.io.EventJson;
import dev.vigil.transforms.offline.Backfill;
import dev.vigil.transforms.offline.PointInTimeEvaluator;
import dev.vigil.transforms.offline.SyntheticEvents;
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
import java.util.concurrent.TimeUnit;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Instant;
import dev.vigil.transforms.cli.FeaturesCommand;
import org.apache.avro.Schema;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.io.LocalInputFile;
import picocli.CommandLine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The batch backfill on the shared MiniCluster against the single-JVM {@link Backfill}: row for row
 * equal (values, ids, times, order) at parallelism 1 and 3, on out-of-order streams with ties and
 * events late for the stream, three entities (one read {@code as_of} 10 minutes back, one whose key
 * is often null and that starts afresh after 6 idle hours, {@code idle_ttl}).
 */
class BatchBackfillITCase {
  @RegisterExtension
  static final MiniClusterExtension CLUSTER = TestClusters.fourSlots();

  static final String ENTITIES =
      "{card: card_id, merchant: {key: merchant_id, as_of: 10m}, device: {key: device_id,"
          + " idle_ttl: 6h}}";
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
    // The stream has what matters: ties, events late for the stream read in file order, events
    // without a device key, out-of-order events.
    PointInTimeEvaluator inFileOrder = new PointInTimeEvaluator(spec);
    events.forEach(inFileOrder::process);
    assertThat(inFileOrder.lateCount()).isPositive();
    assertThat(events.stream().map(Transaction::getEventTime).distinct().count())
        .isLessThan(events.size() * 9 / 10);
    assertThat(events.stream().filter(t -> t.getDeviceId() == null).count()).isPositive();
    List<String> expected = singleJvm(spec, input);
    assertThat(expected).hasSize(4000);

    for (int p : new int[] {1, 3}) {
      Path out = dir.resolve("p" + p + ".jsonl");
      BatchBackfill.Summary s = batch(spec, p, input, out);
      assertThat(s.events()).isEqualTo(4000);
      assertThat(s.late()).isZero(); // sorted by time per key: nothing is late for a backfill
      assertThat(concatenated(out, p)).as("parallelism %d", p).isEqualTo(expected);
      for (Path part : OutputDirectory.parts(out)) {
        assertThat(Files.size(part)).as("%s holds a share of the rows", part).isPositive();
      }
      assertThat(dir.resolve("p" + p + ".jsonl.partial")).doesNotExist();
    }
  }

  static List<String> parquetRows(List<Path> files) throws Exception {
    List<String> rows = new ArrayList<>();
    for (Path f : files) {
      try (var reader = AvroParquetReader.<GenericRecord>builder(new LocalInputFile(f))
          .withConf(new PlainParquetConfiguration()).build()) {
        for (GenericRecord r; (r = reader.read()) != null; ) {
          StringBuilder b = new StringBuilder();
          for (Schema.Field field : r.getSchema().getFields()) {
            Object v = r.get(field.pos());
            b.append(v instanceof Instant t ? t.toEpochMilli() : v).append('|');
          }
          rows.add(b.toString());
        }
      }
    }
    return rows;
  }

  @Test
  void readsADirectoryOfJsonAndAvroFilesInNameOrderIntoParquetParts() throws Exception {
    CompiledSpec spec = spec();
    List<Transaction> events = RandomStreams.outOfOrder(42, 3000, 40, 8, 30);
    Path all = writeJson(spec, events, dir.resolve("all.jsonl"));
    Path single = dir.resolve("single.parquet");
    new Backfill(spec, 1000, new PrintStream(progress, true, StandardCharsets.UTF_8))
        .run(all, single);

    Path in = dir.resolve("in");
    writeJson(spec, events.subList(0, 1000), in.resolve("a.jsonl"));
    try (DataFileWriter<Transaction> w =
        new DataFileWriter<>(new SpecificDatumWriter<>(Transaction.class))) {
      w.create(Transaction.getClassSchema(), in.resolve("b.avro").toFile());
      for (Transaction t : events.subList(1000, 2000)) {
        w.append(t);
      }
    }
    writeJson(spec, events.subList(2000, 3000), in.resolve("c.jsonl"));
    Files.writeString(in.resolve("_SUCCESS"), ""); // not an event file: skipped
    Files.writeString(in.resolve("empty.jsonl"), ""); // no events, no split

    Path out = dir.resolve("features");
    BatchBackfill.Summary s = batch(spec, 2, in, out);
    assertThat(s.events()).isEqualTo(3000);
    assertThat(parquetRows(OutputDirectory.parts(out))).hasSize(3000)
        .isEqualTo(parquetRows(List.of(single)));
  }

  @Test
  void aBadLineFailsTheRunNamingFileLineAndFieldAndLeavesThePreviousOutputAlone()
      throws Exception {
    CompiledSpec spec = spec();
    Path specFile = dir.resolve("features.yaml");
    Files.writeString(specFile, "source: {subject: payments.transactions-value, event_time:"
        + " event_time}\nentities: " + ENTITIES + "\nfeatures:\n" + FEATURES);
    EventJson json = new EventJson(spec.schema());
    List<String> lines = new ArrayList<>(RandomStreams.outOfOrder(43, 3000, 30, 6, 20).stream()
        .map(json::format).toList());
    Path good = dir.resolve("good.jsonl");
    Files.write(good, lines);
    Path out = dir.resolve("features");
    CliResult ok = cli("--spec", specFile.toString(), "--input", good.toString(), "--output",
        out.toString(), "--parallelism", "2");
    assertThat(ok.exit()).as(ok.err()).isZero();
    assertThat(ok.err()).contains("backfill: 3,000 events → ").contains("parallelism 2")
        .contains(", 0 late");
    List<Path> before = OutputDirectory.parts(out);
    assertThat(before).hasSize(2);
    byte[] first = Files.readAllBytes(before.get(0));

    lines.set(2499, lines.get(2499).replace("\"amount_cents\":", "\"amount_cents\":\"12\",\"x\":"));
    Path bad = dir.resolve("bad.jsonl");
    Files.write(bad, lines);
    CliResult failed = cli("--spec", specFile.toString(), "--input", bad.toString(), "--output",
        out.toString(), "--parallelism", "2");
    assertThat(failed.exit()).as(failed.err()).isEqualTo(2);
    assertThat(failed.err()).contains("features backfill: " + bad.toAbsolutePath() + ":2500: ")
        .contains("amount_cents");
    assertThat(dir.resolve("features.partial")).doesNotExist();
    assertThat(OutputDirectory.parts(out)).isEqualTo(before);
    assertThat(Files.readAllBytes(before.get(0))).isEqualTo(first);
  }

  @Test
  void badArgumentsFailBeforeAnyJobStarts() throws Exception {
    CompiledSpec spec = spec();
    assertThatThrownBy(() -> batch(spec, 2, dir.resolve("missing.jsonl"), dir.resolve("o")))
        .isInstanceOf(EventFiles.BadInputException.class)
        .hasMessageContaining("missing.jsonl: no such file or directory");
    Path csv = dir.resolve("events.csv");
    Files.writeString(csv, "a,b\n");
    assertThatThrownBy(() -> batch(spec, 2, csv, dir.resolve("o")))
        .hasMessageContaining("events.csv: unknown input format; use .jsonl");
    assertThatThrownBy(() -> BatchBackfill.Options.of(0))
        .hasMessageContaining("--parallelism must be between 1 and 1024, got 0");
    assertThat(dir.resolve("o")).doesNotExist();
  }

  @Test
  void aRunKilledMidwayLeavesNoOutputAndTheNextRunCleansUp() throws Exception {
    Path specFile = dir.resolve("example.yaml");
    Files.writeString(specFile, "source: {subject: payments.transactions-value, event_time:"
        + " event_time}\nentities: {card: card_id, merchant: {key: merchant_id, as_of: 2s}}\n"
        + "features:\n  - {name: c1h, entity: card, aggregation: count, window: 1h}\n"
        + "  - {name: m1h, entity: merchant, aggregation: count, window: 1h}\n");
    Path input = dir.resolve("big.jsonl");
    SyntheticEvents.write(input, 100_000, 5_000, 10, 60_000);
    Path out = dir.resolve("killed");
    List<String> command = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m"));
    command.addAll(List.of(OPENS.split(" ")));
    command.addAll(List.of("-cp", System.getProperty("java.class.path"),
        FeaturesCommand.class.getName(), "backfill", "--spec", specFile.toString(),
        "--input", input.toString(), "--output", out.toString(), "--parallelism", "2"));
    Process child = new ProcessBuilder(command).redirectErrorStream(true)
        .redirectOutput(dir.resolve("child.log").toFile()).start();
    try {
      // Killed at its first progress line: the job is running, some stages done.
      Path log = dir.resolve("child.log");
      long deadline = System.nanoTime() + 60_000_000_000L;
      while (!Files.readString(log).contains("events read") && child.isAlive()
          && System.nanoTime() < deadline) {
        child.waitFor(50, TimeUnit.MILLISECONDS);
      }
      assertThat(child.isAlive()).as("still running when killed: %s", Files.readString(log))
          .isTrue();
      child.destroyForcibly().waitFor();
      assertThat(dir.resolve("killed.partial")).isDirectory();
    } finally {
      child.destroyForcibly().waitFor();
    }
    assertThat(out).doesNotExist();

    Path small = dir.resolve("small.jsonl");
    SyntheticEvents.write(small, 2_000, 100, 1, 60_000);
    CliResult again = cli("--spec", specFile.toString(), "--input", small.toString(), "--output",
        out.toString(), "--parallelism", "2");
    assertThat(again.exit()).as(again.err()).isZero();
    assertThat(OutputDirectory.parts(out)).hasSize(2);
    assertThat(dir.resolve("killed.partial")).doesNotExist();
  }

  static final String OPENS = "--add-opens java.base/java.lang=ALL-UNNAMED"
      + " --add-opens java.base/java.util=ALL-UNNAMED"
      + " --add-opens java.base/java.lang.reflect=ALL-UNNAMED"
      + " --add-opens java.base/java.io=ALL-UNNAMED --add-opens java.base/java.nio=ALL-UNNAMED"
      + " --add-opens java.base/sun.nio.ch=ALL-UNNAMED --add-opens java.base/java.net=ALL-UNNAMED"
      + " --add-opens java.base/java.time=ALL-UNNAMED"
      + " --add-opens java.base/java.util.concurrent=ALL-UNNAMED"
      + " --add-opens java.base/java.util.concurrent.atomic=ALL-UNNAMED";

  record CliResult(int exit, String err) {}

  static CliResult cli(String... args) {
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new FeaturesCommand.BackfillCommand())
        .setErr(new PrintWriter(err, true)).execute(args);
    return new CliResult(exit, err.toString());
  }
}
