package dev.vigil.statetools;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Transaction;
import dev.vigil.transforms.run.RunCommand;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.testing.RandomStreams;
import dev.vigil.transforms.testing.TestClusters;
import dev.vigil.transforms.testing.TestSpecs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The first proof, on RocksDB at parallelism 2 and max parallelism 128: {@code state
 * bootstrap} over the history before a cut-over T, then {@code vigil run --from-savepoint} over
 * the events from T, writes for every event from T exactly the lines {@code vigil run} writes
 * over all events from scratch — and a cold run over the same events does not.
 */
class BootstrapRestoreITCase {
  @RegisterExtension
  static final MiniClusterExtension CLUSTER = TestClusters.twoSlots();

  @TempDir Path dir;

  /**
   * With the default order, and with the example's: card in arrival order and merchant read as of
   * 10 minutes earlier, on 3 partitions (the bootstrap hands the merchant events of the last 10
   * minutes before T to the stage instead of applying them, so that reads just after T do not see
   * them early).
   */
  @ParameterizedTest(name = "entities {0}, {1} partitions")
  @CsvSource(delimiterString = ";", value = {
      "{card: card_id, merchant: merchant_id}; 1",
      "{card: {key: card_id, ordering: arrival}, merchant: {key: merchant_id, as_of: 10m}}; 3"})
  void bootstrapThenRunFromTheCutoverEqualsRunningEveryEventFromScratch(String entities,
      String partitions) throws Exception {
    Path specFile = dir.resolve("features.yaml");
    Files.writeString(specFile, StateFixtures.HEADER.replace(
        "entities: {card: card_id, merchant: merchant_id}", "entities: " + entities)
        + TestSpecs.ALL_FEATURES);
    assertThat(Files.readString(specFile)).contains(entities);
    CompiledSpec spec = CompiledSpec.load(specFile);
    // Many keys, bursts, same-millisecond events, gaps longer than windows (merchant has
    // windows only, so some of its keys outlive their TTL before T and are dropped).
    List<Transaction> events = RandomStreams.generate(11, 4000, 60, 8);
    long cutover = StateFixtures.time(events.get(2600));
    List<Transaction> fromT = events.stream().filter(e -> StateFixtures.time(e) >= cutover)
        .toList();
    assertThat(fromT).hasSizeGreaterThan(1000);
    // A same-millisecond tie at T stays on the "from T" side.
    assertThat(StateFixtures.time(events.get(2599))).isLessThanOrEqualTo(cutover);
    Path all = StateFixtures.events(dir.resolve("all.jsonl"), spec, events);
    Path from = StateFixtures.events(dir.resolve("from.jsonl"), spec, fromT);
    Path savepoint = dir.resolve("sp");

    var boot = StateFixtures.run(new BootstrapCommand(), "--spec", specFile.toString(),
        "--input", all.toString(), "--cutover", Instant.ofEpochMilli(cutover).toString(),
        "--savepoint", savepoint.toString());
    assertThat(boot.exit()).as(boot.err()).isZero();
    assertThat(boot.err()).contains("events before");
    if (entities.contains("as_of")) {
      assertThat(boot.err()).as("merchant events handed over").contains("handed to the stage");
    }
    assertThat(savepoint.resolve("_metadata")).isRegularFile();
    assertThat(savepoint.resolve(SavepointStamp.FILE)).isRegularFile();

    Path full = dir.resolve("full.jsonl");
    Path warm = dir.resolve("warm.jsonl");
    Path cold = dir.resolve("cold.jsonl");
    var r1 = StateFixtures.run(new RunCommand(), "--spec", specFile.toString(), "--input",
        all.toString(), "--output", full.toString(), "--partitions", partitions);
    assertThat(r1.exit()).as(r1.err()).isZero();
    var r2 = StateFixtures.run(new RunCommand(), "--spec", specFile.toString(), "--input",
        from.toString(), "--output", warm.toString(), "--from-savepoint", savepoint.toString(), "--partitions", partitions);
    assertThat(r2.exit()).as(r2.err()).isZero();
    var r3 = StateFixtures.run(new RunCommand(), "--spec", specFile.toString(), "--input",
        from.toString(), "--output", cold.toString(), "--partitions", partitions);
    assertThat(r3.exit()).as(r3.err()).isZero();

    List<String> fullLines = Files.readAllLines(full);
    List<String> expected = fullLines.subList(fullLines.size() - fromT.size(), fullLines.size());
    assertThat(expected.get(0)).contains(fromT.get(0).getTransactionId().toString());
    List<String> warmLines = Files.readAllLines(warm);
    assertThat(warmLines).hasSize(fromT.size());
    for (int i = 0; i < expected.size(); i++) {
      assertThat(warmLines.get(i)).as("event %d from the cut-over", i).isEqualTo(expected.get(i));
    }
    assertThat(Files.readAllLines(cold)).isNotEqualTo(expected);
  }

  @Test
  void aProducerRetryStraddlingTheCutoverIsCaughtByTheBootstrappedDedupeState() throws Exception {
    Path specFile = StateFixtures.spec(dir, "features.yaml",
        "  - {name: c1h, entity: card, aggregation: count, window: 1h}\n"
            + "  - {name: m_c1h, entity: merchant, aggregation: count, window: 1h}\n");
    CompiledSpec spec = CompiledSpec.load(specFile);
    List<Transaction> events = RandomStreams.generate(5, 500, 20, 4);
    Transaction lastBefore = events.get(events.size() - 1);
    long cutover = StateFixtures.time(lastBefore) + 1;
    Path all = StateFixtures.events(dir.resolve("all.jsonl"), spec, events);
    Path savepoint = dir.resolve("sp");
    var boot = StateFixtures.run(new BootstrapCommand(), "--spec", specFile.toString(),
        "--input", all.toString(), "--cutover", Long.toString(cutover), "--savepoint",
        savepoint.toString(), "--dedupe-horizon", "24h");
    assertThat(boot.exit()).as(boot.err()).isZero();

    // The scoring job's stages (dedupe on) restored from the savepoint: the retry of the last
    // event before T, then a new event of the same card and merchant.
    Transaction retry = Transaction.newBuilder(lastBefore)
        .setEventTime(Instant.ofEpochMilli(cutover + 5)).build();
    Transaction fresh = Transaction.newBuilder(lastBefore).setTransactionId("new-1")
        .setEventTime(Instant.ofEpochMilli(cutover + 6)).build();
    var config = dev.vigil.transforms.run.FileFeatureJob.localConfig(2, 128,
        Files.createDirectories(dir.resolve("cp")));
    dev.vigil.transforms.run.FileFeatureJob.restoringFrom(config, savepoint.toAbsolutePath());
    var env = org.apache.flink.streaming.api.environment.StreamExecutionEnvironment
        .getExecutionEnvironment(config);
    var type = dev.vigil.transforms.flink.FeaturePipeline.typeOf(spec);
    var input = env.fromData(type,
        new dev.vigil.transforms.flink.FeatureEvent(retry, 0, 2),
        new dev.vigil.transforms.flink.FeatureEvent(fresh, 1, 2)).setParallelism(1);
    var stages = dev.vigil.transforms.flink.FeaturePipeline.defineWorkflow(input, spec,
        java.time.Duration.ofHours(24));
    List<dev.vigil.transforms.flink.FeatureEvent> out = new java.util.ArrayList<>();
    try (var it = stages.output().executeAndCollect()) {
      it.forEachRemaining(out::add);
    }
    out.sort(java.util.Comparator.comparingLong(e -> e.seq));
    assertThat(out).hasSize(2);
    assertThat(out.get(0).duplicate).as("the retry of an event before the cut-over").isTrue();
    assertThat(out.get(1).duplicate).isFalse();
    // The new event sees the history's events of its card within the hour (the state restored).
    assertThat((Long) out.get(1).values[0]).isPositive();
  }

  @Test
  void refusesToOverwriteASavepointUnlessForced() throws Exception {
    Path specFile = StateFixtures.spec(dir, "features.yaml",
        "  - {name: c1h, entity: card, aggregation: count, window: 1h}\n");
    CompiledSpec spec = CompiledSpec.load(specFile);
    Path all = StateFixtures.events(dir.resolve("all.jsonl"), spec,
        RandomStreams.generate(3, 200, 10, 3));
    Path savepoint = Files.createDirectories(dir.resolve("sp"));
    String[] args = {"--spec", specFile.toString(), "--input", all.toString(), "--cutover",
        "2030-01-01T00:00:00Z", "--savepoint", savepoint.toString()};
    var refused = StateFixtures.run(new BootstrapCommand(), args);
    assertThat(refused.exit()).isEqualTo(2);
    assertThat(refused.err()).contains("exists; pass --force");
    assertThat(savepoint.resolve("_metadata")).doesNotExist();

    String[] forced = java.util.Arrays.copyOf(args, args.length + 1);
    forced[args.length] = "--force";
    var ok = StateFixtures.run(new BootstrapCommand(), forced);
    assertThat(ok.exit()).as(ok.err()).isZero();
    assertThat(savepoint.resolve("_metadata")).isRegularFile();
    try (var siblings = Files.list(dir)) {
      assertThat(siblings.map(p -> p.getFileName().toString()))
          .noneMatch(n -> n.contains(".partial-") || n.contains(".old-"));
    }
  }
}
