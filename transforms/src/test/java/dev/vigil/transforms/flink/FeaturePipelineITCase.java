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
 * Streaming equals offline: random streams through the Flink feature stages (one shared
 * MiniCluster, 2 slots) at parallelism 1 and 2, RocksDB and HashMap state, give exactly the
 * vectors of the offline evaluator (what {@code features backfill} writes) and of the brute-force
 * reference.
 */
class FeaturePipelineITCase {
  @RegisterExtension
  static final MiniClusterExtension CLUSTER = TestClusters.twoSlots();

  @TempDir Path dir;

  static List<FeatureRow> stream(CompiledSpec spec, Path input, int parallelism, String backend,
      Path checkpoints) throws Exception {
    Configuration config = FileFeatureJob.localConfig(parallelism, 128, checkpoints);
    config.setString("state.backend.type", backend);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config);
    env.setParallelism(parallelism);
    var stages = FileFeatureJob.defineWorkflow(env, spec, FileFeatureJob.source(env, spec, input));
    List<FeatureEvent> events = new ArrayList<>();
    try (CloseableIterator<FeatureEvent> it = stages.output().executeAndCollect()) {
      it.forEachRemaining(events::add);
    }
    var engine = spec.engines().get(0);
    events.sort(Comparator.<FeatureEvent>comparingLong(e -> engine.eventTimeOf(e.event))
        .thenComparingLong(e -> e.seq));
    List<FeatureRow> rows = new ArrayList<>();
    for (FeatureEvent e : events) {
      rows.add(new FeatureRow(e.event.get(0).toString(), engine.eventTimeOf(e.event), e.values));
    }
    return rows;
  }

  @ParameterizedTest(name = "seed {0}, parallelism {1}, {2}")
  @CsvSource({"11, 1, rocksdb", "12, 2, rocksdb", "13, 2, hashmap"})
  void streamingEqualsOfflineEqualsBruteForce(long seed, int parallelism, String backend)
      throws Exception {
    CompiledSpec spec = TestSpecs.spec(TestSpecs.ALL_FEATURES);
    List<Transaction> events = RandomStreams.generate(seed, 2500, 60, 12);
    Path input = dir.resolve("events.jsonl");
    EventJson json = new EventJson(spec.schema());
    Files.write(input, events.stream().map(json::format).toList());

    List<FeatureRow> streamed = stream(spec, input, parallelism, backend, dir.resolve("chk"));

    PointInTimeEvaluator offline = new PointInTimeEvaluator(spec);
    List<FeatureRow> expected = events.stream().map(offline::process).toList();
    assertThat(streamed).hasSameSizeAs(expected);
    for (int i = 0; i < expected.size(); i++) {
      assertThat(streamed.get(i)).as("event %d", i).isEqualTo(expected.get(i));
    }

    List<Map<String, Object>> brute = BruteForceFeatures.compute(spec, events);
    List<String> names = spec.spec().featureNames();
    for (int i = 0; i < expected.size(); i++) {
      Map<String, Object> row = new HashMap<>();
      for (int f = 0; f < names.size(); f++) {
        row.put(names.get(f), streamed.get(i).values()[f]);
      }
      assertThat(row).as("event %d vs brute force", i).isEqualTo(brute.get(i));
    }
  }

  /**
   * Out of order within keys (events moved later in the file, some beyond the longest window):
   * each key's events still reach its stage in file order at any parallelism, so the stages give
   * exactly what the engine gives applied in file order, late events included (null values).
   */
  @ParameterizedTest(name = "seed {0}, parallelism {1}, {2}")
  @CsvSource({"21, 2, rocksdb", "22, 2, hashmap"})
  void outOfOrderStreamsEqualTheEngineInFileOrder(long seed, int parallelism, String backend)
      throws Exception {
    CompiledSpec spec = TestSpecs.spec(TestSpecs.ALL_FEATURES);
    List<Transaction> events = RandomStreams.outOfOrder(seed, 2500, 60, 12, 40);
    Path input = dir.resolve("events.jsonl");
    EventJson json = new EventJson(spec.schema());
    Files.write(input, events.stream().map(json::format).toList());

    List<FeatureRow> streamed = stream(spec, input, parallelism, backend, dir.resolve("chk"));

    PointInTimeEvaluator inFileOrder = new PointInTimeEvaluator(spec);
    List<FeatureRow> byFileOrder = events.stream().map(inFileOrder::process).toList();
    assertThat(inFileOrder.lateCount()).as("the stream has late events").isPositive();
    // the same order as stream(): event time, then input line
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < byFileOrder.size(); i++) {
      order.add(i);
    }
    order.sort(Comparator.<Integer>comparingLong(i -> byFileOrder.get(i).eventTime())
        .thenComparingInt(i -> i));
    assertThat(streamed).hasSameSizeAs(byFileOrder);
    for (int k = 0; k < order.size(); k++) {
      assertThat(streamed.get(k)).as("event %d", order.get(k))
          .isEqualTo(byFileOrder.get(order.get(k)));
    }
  }
}
