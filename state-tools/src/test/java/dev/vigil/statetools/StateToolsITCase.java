package dev.vigil.statetools;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.offline.Backfill;
import dev.vigil.transforms.run.RunCommand;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.testing.RandomStreams;
import dev.vigil.transforms.testing.TestClusters;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * add-feature, inspect, verify and the refusals, on RocksDB at parallelism 2 and max parallelism
 * 128, over one history and one bootstrapped savepoint of a card-only spec.
 */
class StateToolsITCase {
  @RegisterExtension
  static final MiniClusterExtension CLUSTER = TestClusters.twoSlots();

  static final String OLD_FEATURES =
      "  - {name: c1h, entity: card, aggregation: count, window: 1h}\n"
          + "  - {name: s30d, entity: card, aggregation: sum, field: amount_cents, window: 30d}\n"
          + "  - {name: mean24h, entity: card, aggregation: mean, field: amount_cents, window: 24h}\n"
          + "  - {name: last_m, entity: card, aggregation: last, field: merchant_id}\n"
          + "  - {name: tsl, entity: card, aggregation: time_since_last}\n"
          + "  - {name: tsf, entity: card, aggregation: time_since_first}\n";
  /** The old spec plus a card feature (between old ones) and a merchant entity. */
  static final String NEW_FEATURES =
      "  - {name: c1h, entity: card, aggregation: count, window: 1h}\n"
          + "  - {name: dm7d, entity: card, aggregation: distinct_count, field: merchant_id, window: 7d}\n"
          + "  - {name: s30d, entity: card, aggregation: sum, field: amount_cents, window: 30d}\n"
          + "  - {name: mean24h, entity: card, aggregation: mean, field: amount_cents, window: 24h}\n"
          + "  - {name: last_m, entity: card, aggregation: last, field: merchant_id}\n"
          + "  - {name: last_dev, entity: card, aggregation: last, field: device_id}\n"
          + "  - {name: tsl, entity: card, aggregation: time_since_last}\n"
          + "  - {name: tsf, entity: card, aggregation: time_since_first}\n"
          + "  - {name: m_c1h, entity: merchant, aggregation: count, window: 1h}\n";

  @TempDir static Path dir;
  static Path oldSpecFile;
  static Path newSpecFile;
  static CompiledSpec oldSpec;
  static CompiledSpec newSpec;
  static List<Transaction> events;
  static long cutover;
  static Path history;
  static Path savepoint;

  @BeforeAll
  static void bootstrapTheOldSpec() throws Exception {
    oldSpecFile = StateFixtures.spec(dir, "old.yaml", OLD_FEATURES);
    newSpecFile = StateFixtures.spec(dir, "new.yaml", NEW_FEATURES);
    oldSpec = CompiledSpec.load(oldSpecFile);
    newSpec = CompiledSpec.load(newSpecFile);
    events = RandomStreams.generate(23, 3000, 40, 6);
    cutover = StateFixtures.time(events.get(2400));
    history = StateFixtures.events(dir.resolve("history.jsonl"), oldSpec, events);
    savepoint = dir.resolve("old-sp");
    var r = StateFixtures.run(new BootstrapCommand(), "--spec", oldSpecFile.toString(),
        "--input", history.toString(), "--cutover", Instant.ofEpochMilli(cutover).toString(),
        "--savepoint", savepoint.toString());
    assertThat(r.exit()).as(r.err()).isZero();
  }

  static Map<String, byte[]> read(Path sp, CompiledSpec spec, String entity) throws Exception {
    EntityEngine engine = SavepointSpec.engine(spec, entity, sp);
    return Savepoints.states(Savepoints.read(sp, engine, 86_400_000L, null, 2));
  }

  @Test
  void addFeatureCarriesOldFeaturesBitForBitAndTheNewOnesEqualAFullReplay() throws Exception {
    Path added = dir.resolve("added-sp");
    var r = StateFixtures.run(new AddFeatureCommand(), "--savepoint", savepoint.toString(),
        "--spec", newSpecFile.toString(), "--input", history.toString(),
        "--savepoint-out", added.toString());
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.err()).contains("card=rebuilt", "merchant=added");
    Path full = dir.resolve("full-sp");
    var f = StateFixtures.run(new BootstrapCommand(), "--spec", newSpecFile.toString(),
        "--input", history.toString(), "--cutover", Instant.ofEpochMilli(cutover).toString(),
        "--savepoint", full.toString());
    assertThat(f.exit()).as(f.err()).isZero();

    EntityEngine oldCard = SavepointSpec.engine(oldSpec, "card", savepoint);
    EntityEngine newCard = SavepointSpec.engine(newSpec, "card", added);
    Map<String, byte[]> before = read(savepoint, oldSpec, "card");
    Map<String, byte[]> after = read(added, newSpec, "card");
    Map<String, byte[]> replay = read(full, newSpec, "card");
    assertThat(before).hasSizeGreaterThan(20);
    assertThat(after.keySet()).isEqualTo(before.keySet());
    for (String key : before.keySet()) {
      assertThat(newCard.newestMillis(after.get(key))).isEqualTo(oldCard.newestMillis(before.get(key)));
      for (String feature : oldCard.featureNames()) {
        assertThat(newCard.featureBytes(after.get(key), feature)).as("%s %s", key, feature)
            .isEqualTo(oldCard.featureBytes(before.get(key), feature));
      }
      for (String feature : List.of("dm7d", "last_dev")) {
        assertThat(newCard.featureBytes(after.get(key), feature)).as("%s %s", key, feature)
            .isEqualTo(newCard.featureBytes(replay.get(key), feature));
      }
      // Here the history is the one the old savepoint was built from: the whole state is the replay's.
      assertThat(after.get(key)).as(key).isEqualTo(replay.get(key));
    }
    Map<String, byte[]> merchants = read(added, newSpec, "merchant");
    Map<String, byte[]> merchantsReplay = read(full, newSpec, "merchant");
    assertThat(merchants).isNotEmpty();
    assertThat(merchants.keySet()).isEqualTo(merchantsReplay.keySet());
    merchants.forEach((k, v) -> assertThat(v).as(k).isEqualTo(merchantsReplay.get(k)));

    var verify = StateFixtures.run(new VerifyCommand(), "--savepoint", added.toString(),
        "--spec", newSpecFile.toString(), "--input", history.toString());
    assertThat(verify.exit()).as(verify.err() + verify.out()).isZero();
    assertThat(verify.out()).isEmpty();
  }

  @Test
  void addFeatureRefusesAHistoryThatDoesNotReachTheSavepointsState() throws Exception {
    Path shorter = StateFixtures.events(dir.resolve("shorter.jsonl"), oldSpec,
        events.subList(0, 2000));
    var r = StateFixtures.run(new AddFeatureCommand(), "--savepoint", savepoint.toString(),
        "--spec", newSpecFile.toString(), "--input", shorter.toString(),
        "--savepoint-out", dir.resolve("refused-sp").toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("are not where the history leaves them at the cut-over");
    assertThat(dir.resolve("refused-sp")).doesNotExist();
  }

  @Test
  void inspectShowsTheFeaturesTheOfflineBackfillGivesAtTheCutover() throws Exception {
    Transaction last = events.stream().filter(e -> StateFixtures.time(e) < cutover)
        .reduce((a, b) -> b).orElseThrow();
    String key = last.getCardId().toString();
    var r = StateFixtures.run(new InspectCommand(), "--savepoint", savepoint.toString(),
        "--entity", "card", "--key", key);
    assertThat(r.exit()).as(r.err()).isZero();
    JsonNode shown = new ObjectMapper().readTree(r.out());
    assertThat(shown.path("state").path("newest_event").asText())
        .isEqualTo(last.getEventTime().toString());

    // The backfill's vector for a probe event of the key at exactly the cut-over: what was known
    // just before it, i.e. as of the cut-over.
    List<Transaction> probe = new ArrayList<>(events.stream()
        .filter(e -> StateFixtures.time(e) < cutover).toList());
    probe.add(Transaction.newBuilder(last).setTransactionId("probe")
        .setEventTime(Instant.ofEpochMilli(cutover)).build());
    Path in = StateFixtures.events(dir.resolve("probe.jsonl"), oldSpec, probe);
    Path out = dir.resolve("probe-out.jsonl");
    new Backfill(oldSpec, 100_000, new PrintStream(new ByteArrayOutputStream())).run(in, out);
    List<String> rows = Files.readAllLines(out);
    JsonNode expected = new ObjectMapper().readTree(rows.get(rows.size() - 1)).path("features");
    assertThat(shown.path("features")).isEqualTo(expected);

    Path dump = dir.resolve("dump.jsonl");
    var d = StateFixtures.run(new InspectCommand(), "--savepoint", savepoint.toString(),
        "--entity", "card", "--dump", dump.toString());
    assertThat(d.exit()).as(d.err()).isZero();
    assertThat(Files.readAllLines(dump)).hasSize(read(savepoint, oldSpec, "card").size())
        .anySatisfy(l -> assertThat(new ObjectMapper().readTree(l)).isEqualTo(shown));
  }

  @Test
  void verifyListsEveryKeyWhoseStateDiffersFromTheHistory() throws Exception {
    var same = StateFixtures.run(new VerifyCommand(), "--savepoint", savepoint.toString(),
        "--spec", oldSpecFile.toString(), "--input", history.toString());
    assertThat(same.exit()).as(same.err()).isZero();
    // Drop every event of one card from the history: exactly that key differs.
    String key = events.get(10).getCardId().toString();
    Path other = StateFixtures.events(dir.resolve("other.jsonl"), oldSpec, events.stream()
        .filter(e -> !e.getCardId().toString().equals(key)).toList());
    var diff = StateFixtures.run(new VerifyCommand(), "--savepoint", savepoint.toString(),
        "--spec", oldSpecFile.toString(), "--input", other.toString());
    assertThat(diff.exit()).isEqualTo(1);
    assertThat(diff.out().lines().toList()).containsExactly("card " + key + ": in the savepoint only");
  }

  @Test
  void refusesASavepointForAnotherSpecOrMaxParallelismWithAMessage() throws Exception {
    Path from = StateFixtures.events(dir.resolve("from.jsonl"), oldSpec,
        events.subList(2400, 2500));
    var spec = StateFixtures.run(new RunCommand(), "--spec", newSpecFile.toString(), "--input",
        from.toString(), "--output", dir.resolve("x.jsonl").toString(), "--from-savepoint",
        savepoint.toString());
    assertThat(spec.exit()).isEqualTo(2);
    assertThat(spec.err()).contains("was made for another feature spec", "state add-feature");
    var mp = StateFixtures.run(new RunCommand(), "--spec", oldSpecFile.toString(), "--input",
        from.toString(), "--output", dir.resolve("x.jsonl").toString(), "--from-savepoint",
        savepoint.toString(), "--max-parallelism", "256");
    assertThat(mp.exit()).isEqualTo(2);
    assertThat(mp.err()).contains("was written with max parallelism 128, not 256");
    var verify = StateFixtures.run(new VerifyCommand(), "--savepoint", savepoint.toString(),
        "--spec", newSpecFile.toString(), "--input", history.toString());
    assertThat(verify.exit()).isEqualTo(2);
    assertThat(verify.err()).contains("was made for another feature spec");
  }

  @Test
  void refusesAMissingUidAPartialOrACorruptSavepointSayingWhatToDo() throws Exception {
    // A savepoint without the stamp and without merchant state, for a spec with merchant.
    Path unstamped = copy(savepoint, dir.resolve("unstamped-sp"));
    Files.delete(unstamped.resolve(SavepointStamp.FILE));
    Savepoints.Opened opened = Savepoints.open(unstamped);
    assertThat(opened.hasOperator(OperatorUids.features("card"))).isTrue();
    var missing = org.assertj.core.api.Assertions.catchThrowable(
        () -> Savepoints.checkFits(opened, newSpec, 128));
    assertThat(missing).isInstanceOf(StateToolException.class)
        .hasMessageContaining("has no state for operator uid vigil-features-merchant-v1");

    Path partial = copy(savepoint, dir.resolve("partial-sp"));
    Files.delete(partial.resolve(Savepoints.METADATA));
    var noMeta = StateFixtures.run(new InspectCommand(), "--savepoint", partial.toString(),
        "--entity", "card", "--key", "c1");
    assertThat(noMeta.exit()).isEqualTo(2);
    assertThat(noMeta.err()).contains("has no _metadata", "--force");
    var run = StateFixtures.run(new RunCommand(), "--spec", oldSpecFile.toString(), "--input",
        history.toString(), "--output", dir.resolve("y.jsonl").toString(), "--from-savepoint",
        partial.toString());
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("has no _metadata");

    Path corrupt = copy(savepoint, dir.resolve("corrupt-sp"));
    Files.write(corrupt.resolve(Savepoints.METADATA), new byte[] {1, 2, 3, 4, 5});
    var bad = StateFixtures.run(new InspectCommand(), "--savepoint", corrupt.toString(),
        "--entity", "card", "--key", "c1");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err()).contains("_metadata is unreadable", "write it again");

    // Small states are inlined in _metadata; one of 3,000 cards has its own state files.
    Path big = StateFixtures.events(dir.resolve("big.jsonl"), oldSpec,
        RandomStreams.generate(5, 20_000, 3000, 10));
    Path lost = dir.resolve("lost-sp");
    var boot = StateFixtures.run(new BootstrapCommand(), "--spec", oldSpecFile.toString(),
        "--input", big.toString(), "--cutover", "2100-01-01T00:00:00Z", "--savepoint",
        lost.toString());
    assertThat(boot.exit()).as(boot.err()).isZero();
    assertThat(Savepoints.open(lost).hasOperator(OperatorUids.features("card"))).isTrue();
    try (var files = Files.walk(lost)) {
      Path stateFile = files.filter(Files::isRegularFile)
          .filter(p -> !p.getFileName().toString().equals(Savepoints.METADATA)
              && !p.getFileName().toString().equals(SavepointStamp.FILE)).findFirst().orElseThrow();
      Files.delete(stateFile);
    }
    var gone = StateFixtures.run(new InspectCommand(), "--savepoint", lost.toString(),
        "--entity", "card", "--key", "c1");
    assertThat(gone.exit()).isEqualTo(2);
    assertThat(gone.err()).contains("is partial", "missing");
  }

  static Path copy(Path from, Path to) throws Exception {
    try (var paths = Files.walk(from)) {
      for (Path p : paths.toList()) {
        Path target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(target);
        } else {
          Files.copy(p, target);
        }
      }
    }
    return to;
  }
}
