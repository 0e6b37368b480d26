package dev.vigil.transforms.offline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.EventFiles;
import dev.vigil.transforms.io.EventJson;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.testing.RandomStreams;
import dev.vigil.transforms.testing.TestSpecs;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.specific.SpecificDatumWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackfillTest {
  @TempDir Path dir;
  final ByteArrayOutputStream progress = new ByteArrayOutputStream();

  CompiledSpec spec() throws Exception {
    return TestSpecs.spec(TestSpecs.ALL_FEATURES);
  }

  List<String> expected(CompiledSpec spec, List<Transaction> events) {
    PointInTimeEvaluator offline = new PointInTimeEvaluator(spec);
    List<String> rows = new ArrayList<>();
    for (Transaction t : events) {
      FeatureRow r = offline.process(t);
      rows.add(r.toJson(spec.spec().featureNames()));
    }
    return rows;
  }

  @Test
  void anOrderedJsonLinesFileStreamsStraightThrough() throws Exception {
    CompiledSpec spec = spec();
    List<Transaction> events = RandomStreams.generate(7, 1500, 30, 8);
    Path in = dir.resolve("events.jsonl");
    EventJson json = new EventJson(spec.schema());
    Files.write(in, events.stream().map(json::format).toList());
    Path out = dir.resolve("features.jsonl");
    Backfill.Summary s = new Backfill(spec, 1_000_000, new PrintStream(progress)).run(in, out);
    assertThat(s.sorted()).isFalse();
    assertThat(Files.readAllLines(out)).isEqualTo(expected(spec, events));
  }

  @Test
  void anUnorderedFileIsSortedExternallyInRunsWithTiesInFileOrder() throws Exception {
    CompiledSpec spec = spec();
    List<Transaction> events = RandomStreams.generate(8, 1500, 30, 8);
    // Shuffle whole blocks of equal timestamps so ties keep their relative order after the sort.
    List<List<Transaction>> blocks = new ArrayList<>();
    for (Transaction t : events) {
      if (blocks.isEmpty() || !blocks.get(blocks.size() - 1).get(0).getEventTime().equals(t.getEventTime())) {
        blocks.add(new ArrayList<>());
      }
      blocks.get(blocks.size() - 1).add(t);
    }
    Collections.shuffle(blocks, new Random(1));
    EventJson json = new EventJson(spec.schema());
    Path in = dir.resolve("shuffled.jsonl");
    Files.write(in, blocks.stream().flatMap(List::stream).map(json::format).toList());
    Path out = dir.resolve("features.jsonl");
    Backfill.Summary s = new Backfill(spec, 100, new PrintStream(progress)).run(in, out);
    assertThat(s.sorted()).isTrue();
    assertThat(s.runs()).isEqualTo(15);
    assertThat(Files.readAllLines(out)).isEqualTo(expected(spec, events));
  }

  @Test
  void readsAvroContainerFiles() throws Exception {
    CompiledSpec spec = spec();
    List<Transaction> events = RandomStreams.generate(9, 500, 10, 4);
    Path in = dir.resolve("events.avro");
    try (DataFileWriter<Transaction> w = new DataFileWriter<>(new SpecificDatumWriter<>(Transaction.class))) {
      w.create(Transaction.getClassSchema(), in.toFile());
      for (Transaction t : events) {
        w.append(t);
      }
    }
    Path out = dir.resolve("features.jsonl");
    new Backfill(spec, 1000, new PrintStream(progress)).run(in, out);
    assertThat(Files.readAllLines(out)).isEqualTo(expected(spec, events));
  }

  @Test
  void writesParquetWithOneTypedColumnPerFeature() throws Exception {
    CompiledSpec spec = spec();
    List<Transaction> events = RandomStreams.generate(10, 800, 20, 5);
    Path in = dir.resolve("events.jsonl");
    EventJson json = new EventJson(spec.schema());
    Files.write(in, events.stream().map(json::format).toList());
    Path out = dir.resolve("features.parquet");
    new Backfill(spec, 1000, new PrintStream(progress)).run(in, out);

    PointInTimeEvaluator offline = new PointInTimeEvaluator(spec);
    List<String> names = spec.spec().featureNames();
    try (var reader = org.apache.parquet.avro.AvroParquetReader.<org.apache.avro.generic.GenericRecord>builder(
            new org.apache.parquet.io.LocalInputFile(out))
        .withConf(new org.apache.parquet.conf.PlainParquetConfiguration()).build()) {
      for (Transaction t : events) {
        FeatureRow expected = offline.process(t);
        var row = reader.read();
        assertThat(row).as("row for %s", t.getTransactionId()).isNotNull();
        assertThat(row.get("transaction_id").toString()).isEqualTo(expected.transactionId());
        Object time = row.get("event_time"); // timestamp-millis: readers may convert it
        assertThat(time instanceof java.time.Instant i ? i.toEpochMilli() : time)
            .isEqualTo(expected.eventTime());
        for (int i = 0; i < names.size(); i++) {
          Object v = row.get(names.get(i));
          assertThat(v == null ? null : v instanceof org.apache.avro.util.Utf8 ? v.toString() : v)
              .as("%s of %s", names.get(i), t.getTransactionId()).isEqualTo(expected.values()[i]);
        }
      }
      assertThat(reader.read()).isNull();
    }
  }

  @Test
  void aBadLineFailsNamingFileLineAndField() throws Exception {
    CompiledSpec spec = spec();
    Path in = dir.resolve("bad.jsonl");
    EventJson json = new EventJson(spec.schema());
    String good = json.format(RandomStreams.generate(1, 1, 1, 1).get(0));
    Files.write(in, List.of(good, good.replace("\"amount_cents\":", "\"amount_cents\":\"12\",\"x\":")));
    assertThatThrownBy(() -> new Backfill(spec, 10, new PrintStream(progress)).run(in, dir.resolve("o.jsonl")))
        .isInstanceOf(EventFiles.BadInputException.class)
        .hasMessageContaining("bad.jsonl:2")
        .hasMessageContaining("amount_cents");
    assertThat(dir.resolve("o.jsonl")).doesNotExist();
  }

  @Test
  void anIsoTimeThatDoesNotParseIsNamed() throws Exception {
    EventJson json = new EventJson(spec().schema());
    assertThatThrownBy(() -> json.parse("{\"transaction_id\":\"t\",\"card_id\":\"c\",\"merchant_id\":\"m\","
        + "\"amount_cents\":1,\"currency\":\"EUR\",\"event_time\":\"yesterday\",\"channel\":\"POS\"}"))
        .hasMessageContaining("event_time").hasMessageContaining("ISO-8601");
  }
}
