package dev.vigil.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The commands end to end, in-process: what a user types, and the exit codes they get. */
class CommandsITCase {
  @TempDir Path dir;
  static final Path SPEC = Paths.get("..", "examples", "features.yaml");
  static final Path EVENTS = Paths.get("..", "examples", "transactions.jsonl");
  static final Path SCHEMA = Paths.get("..", "schemas", "src", "main", "avro", "Transaction.avsc");

  record Run(int exit, String out, String err) {}

  static Run vigil(String... args) {
    CommandLine cl = Vigil.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    return new Run(cl.execute(args), out.toString(), err.toString());
  }

  @Test
  void theGeneratedManifestMakesTheContractCheckNameTheFeatureAndModel() throws Exception {
    Path manifest = dir.resolve("manifest.json");
    Run m = vigil("features", "manifest", "--spec", SPEC.toString(), "--output", manifest.toString());
    assertThat(m.exit()).as(m.err()).isZero();

    String withoutAmount = Files.readString(SCHEMA).replaceAll(
        "\\{\"name\": \"amount_cents\"[^}]*\\},", "");
    assertThat(withoutAmount).doesNotContain("amount_cents");
    Path candidate = Files.writeString(dir.resolve("Transaction-v2.avsc"), withoutAmount);

    Run check = vigil("contracts", "check", "--schema", candidate.toString(), "--previous",
        SCHEMA.toString(), "--compatibility", "FORWARD", "--consumers", manifest.toString());
    assertThat(check.exit()).isEqualTo(1);
    assertThat(check.out()).contains("CONSUMER_FIELD_REMOVED", "amount_cents",
        "card_amount_sum_30d", "card_amount_max_24h", "fraud-demo");
  }

  @Test
  void explainListsEveryFeatureWithStateWorkAndFields() {
    Run r = vigil("features", "explain", "--spec", SPEC.toString());
    assertThat(r.exit()).isZero();
    assertThat(r.out()).contains("card_txn_count_365d", "366 tiles", "merchant_txn_count_1h",
        "source fields read: event_time, card_id, merchant_id, amount_cents", "freshness");
  }

  @Test
  void aBadSpecExitsTwoNamingTheProblem() throws Exception {
    Path bad = Files.writeString(dir.resolve("bad.yaml"),
        Files.readString(SPEC).replace("aggregation: max", "aggregation: maximum"));
    Run r = vigil("features", "explain", "--spec", bad.toString());
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("feature 'card_amount_max_24h'", "'maximum'", "distinct_count");
  }

  @Test
  void runAndBackfillWriteTheSameVectors() throws Exception {
    // Output folders that do not exist yet are created (the README's command writes to target/).
    Path backfill = dir.resolve("out").resolve("backfill.jsonl");
    Path run = dir.resolve("new-folder").resolve("run.jsonl");
    assertThat(vigil("features", "backfill", "--spec", SPEC.toString(), "--input", EVENTS.toString(),
        "--output", backfill.toString()).exit()).isZero();
    Run r = vigil("run", "--spec", SPEC.toString(), "--input", EVENTS.toString(), "--output",
        run.toString(), "--parallelism", "2");
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(Files.readAllLines(run)).hasSize(1200).isEqualTo(Files.readAllLines(backfill));
    assertThat(Files.readAllLines(run).get(1)).startsWith("{\"transaction_id\":\"t00001\","
        + "\"event_time\":\"2026-03-01T00:16:41.928Z\",\"features\":{\"card_txn_count_365d\":");
  }

  @Test
  void aMissingInputExitsTwo() {
    Run r = vigil("run", "--spec", SPEC.toString(), "--input", "nope.jsonl", "--output", "x.jsonl");
    assertThat(r.exit()).isEqualTo(2);
    assertThat(r.err()).contains("nope.jsonl");
  }
}
