package dev.vigil.transforms.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.EventJson;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.offline.PointInTimeEvaluator;
import dev.vigil.transforms.run.FileFeatureJob;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.testing.BruteForceFeatures;
import dev.vigil.transforms.testing.RandomStreams;
import dev.vigil.transforms.testing.TestClusters;
import dev.vigil.transforms.testing.TestSpecs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.CloseableIterator;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Streaming equals offline at any partitioning: random streams (several entities, same-millisecond
 * ties, events out of order within the watermark's bound) through the Flink feature stages, split
 * as a keyed producer splits a topic into 1 or 4 partitions, at parallelism 1 to 3, RocksDB and
 * HashMap state, give exactly the vectors of the offline evaluator over the time-sorted events
 * (what {@code features backfill} writes) and of the order-free definition ({@link
 * BruteForceFeatures#exact}).
 */
class FeaturePipelineITCase {
  @RegisterExtension
  static final MiniClusterExtension CLUSTER = TestClusters.fourSlots();

  @TempDir Path dir;

  /** The rows of the stages, by input line (seq). */
  static Map<Long, FeatureRow> stream(CompiledSpec spec, Path input, int partitions,
      int parallelism, String backend, Duration bound, Path work) throws Exception {
    Configuration config = FileFeatureJob.localConfig(parallelism, 128, work.resolve("chk"));
    config.setString("state.backend.type", backend);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config);
    env.setParallelism(parallelism);
    Path parts = null;
    if (partitions > 1) {
      parts = Files.createDirectories(work.resolve("parts"));
      FileFeatureJob.split(spec, input, partitions, parts);
    }
    var stages = FileFeatureJob.defineWorkflow(env, spec,
        FileFeatureJob.source(env, spec, input, partitions, parts, bound));
    Map<Long, FeatureRow> rows = new HashMap<>();
    var engine = spec.engines().get(0);
    try (CloseableIterator<FeatureEvent> it = stages.output().executeAndCollect()) {
      it.forEachRemaining(e -> rows.put(e.seq,
          new FeatureRow(e.event.get(0).toString(), engine.eventTimeOf(e.event), e.values)));
    }
    return rows;
  }

  /** The disorder a watermark must allow for: how far an event trails the newest before it. */
  static Duration disorder(List<Transaction> events) {
    long newest = Long.MIN_VALUE;
    long worst = 0;
    for (Transaction t : events) {
      long ts = t.getEventTime().toEpochMilli();
      worst = Math.max(worst, newest - ts);
      newest = Math.max(newest, ts);
    }
    return Duration.ofMillis(worst);
  }

  /** Every fifth event gets the time of the one before it: same-millisecond ties, many per key. */
  static List<Transaction> withTies(List<Transaction> events) {
    List<Transaction> out = new ArrayList<>(events);
    for (int i = 5; i < out.size(); i += 5) {
      Transaction t = Transaction.newBuilder(out.get(i))
          .setEventTime(out.get(i - 1).getEventTime()).build();
      out.set(i, t);
    }
    return out;
  }

  static void assertExact(CompiledSpec spec, List<Transaction> events, Map<Long, FeatureRow> streamed) {
    assertThat(streamed).hasSize(events.size());
    // Offline: the events sorted by event time (ties in file order), through the evaluator.
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < events.size(); i++) {
      order.add(i);
    }
    order.sort(Comparator.<Integer>comparingLong(i -> events.get(i).getEventTime().toEpochMilli())
        .thenComparingInt(i -> i));
    PointInTimeEvaluator offline = new PointInTimeEvaluator(spec);
    FeatureRow[] expected = new FeatureRow[events.size()];
    for (int i : order) {
      expected[i] = offline.process(events.get(i));
    }
    List<Map<String, Object>> exact = BruteForceFeatures.exact(spec, events);
    List<String> names = spec.spec().featureNames();
    int mismatches = 0;
    for (int i = 0; i < events.size(); i++) {
      FeatureRow row = streamed.get((long) i + 1); // seq = line number, from 1
      assertThat(row).as("event %d (line %d) was streamed", i, i + 1).isNotNull();
      Map<String, Object> byName = new HashMap<>();
      for (int f = 0; f < names.size(); f++) {
        byName.put(names.get(f), row.values()[f]);
      }
      if (!row.equals(expected[i]) || !byName.equals(exact.get(i))) {
        mismatches++;
        assertThat(row).as("event %d vs offline", i).isEqualTo(expected[i]);
        assertThat(byName).as("event %d vs the definition", i).isEqualTo(exact.get(i));
      }
    }
    assertThat(mismatches).isZero();
  }

  static final String EVENT_TIME = "{card: card_id, merchant: merchant_id}";
  static final String LAGGED = "{card: card_id, merchant: {key: merchant_id, as_of: 10m}}";
  static final String ARRIVAL_AND_LAG =
      "{card: {key: card_id, ordering: arrival}, merchant: {key: merchant_id, as_of: 10m}}";

  @ParameterizedTest(name = "seed {0}, {1} partitions, parallelism {2}, {3}, entities {4}")
  @CsvSource(delimiterString = ";", value = {
      "11; 1; 1; rocksdb; {card: card_id, merchant: merchant_id}",
      "12; 4; 2; rocksdb; {card: card_id, merchant: merchant_id}",
      "13; 4; 3; hashmap; {card: card_id, merchant: {key: merchant_id, as_of: 10m}}",
      "14; 4; 3; rocksdb; {card: {key: card_id, ordering: arrival}, merchant: {key: merchant_id, as_of: 10m}}",
      "15; 4; 3; rocksdb; {card: {key: card_id, idle_ttl: 20d}, merchant: {key: merchant_id, as_of: 10m, idle_ttl: 40m}}"})
  void inOrderStreamsAreExactAtAnyPartitioning(long seed, int partitions, int parallelism,
      String backend, String entities) throws Exception {
    CompiledSpec spec = TestSpecs.spec(entities, TestSpecs.ALL_FEATURES);
    List<Transaction> events = withTies(RandomStreams.generate(seed, 2500, 60, 12));
    Path input = dir.resolve("events.jsonl");
    EventJson json = new EventJson(spec.schema());
    Files.write(input, events.stream().map(json::format).toList());

    assertExact(spec, events, stream(spec, input, partitions, parallelism, backend,
        Duration.ZERO, dir));
  }

  /**
   * Out of order within keys (events moved later in the file), the watermark's bound covering it:
   * event-time stages, with and without a lag, are still exact at any partitioning.
   */
  @ParameterizedTest(name = "seed {0}, {1} partitions, parallelism {2}, {3}, entities {4}")
  @CsvSource(delimiterString = ";", value = {
      "21; 4; 2; rocksdb; {card: card_id, merchant: merchant_id}",
      "22; 4; 3; hashmap; {card: card_id, merchant: {key: merchant_id, as_of: 10m}}"})
  void outOfOrderStreamsWithinTheBoundAreExact(long seed, int partitions, int parallelism,
      String backend, String entities) throws Exception {
    CompiledSpec spec = TestSpecs.spec(entities, TestSpecs.ALL_FEATURES);
    List<Transaction> events = withTies(RandomStreams.outOfOrder(seed, 2500, 60, 12, 40));
    Path input = dir.resolve("events.jsonl");
    EventJson json = new EventJson(spec.schema());
    Files.write(input, events.stream().map(json::format).toList());
    Duration bound = disorder(events);
    assertThat(bound).as("the stream is out of order").isPositive();

    assertExact(spec, events, stream(spec, input, partitions, parallelism, backend, bound, dir));
  }

  /**
   * Behind the watermark (a bound of 0 on a disordered file): the late events are counted, and
   * every event is still emitted once, scored with the values of the one late rule.
   */
  @ParameterizedTest(name = "{0}")
  @CsvSource({"rocksdb"})
  void eventsBehindTheWatermarkAreCountedAndStillEmitted(String backend) throws Exception {
    CompiledSpec spec = TestSpecs.spec(EVENT_TIME, TestSpecs.ALL_FEATURES);
    List<Transaction> events = RandomStreams.outOfOrder(31, 1500, 40, 8, 40);
    Path input = dir.resolve("events.jsonl");
    EventJson json = new EventJson(spec.schema());
    Files.write(input, events.stream().map(json::format).toList());
    Map<Long, FeatureRow> rows = stream(spec, input, 2, 2, backend, Duration.ZERO, dir);
    assertThat(rows).hasSize(events.size());
  }
}
