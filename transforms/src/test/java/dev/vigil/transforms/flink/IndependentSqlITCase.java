package dev.vigil.transforms.flink;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.EventJson;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.run.RunCommand;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.testing.RandomStreams;
import dev.vigil.transforms.testing.TestClusters;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * An independent check: the example spec's features computed by plain SQL in an in-process H2
 * database, straight from the definitions, on random data generated here (not in the repo),
 * compared with the streaming operators' output.
 */
class IndependentSqlITCase {
  @RegisterExtension
  static final MiniClusterExtension CLUSTER = TestClusters.fourSlots();

  @TempDir Path dir;

  static final long DAY = 86_400_000L;
  static final long HOUR = 3_600_000L;

  @Test
  void theExampleSpecMatchesPlainSql() throws Exception {
    CompiledSpec spec = CompiledSpec.load(Paths.get("..", "examples", "features.yaml"));
    List<Transaction> events = RandomStreams.generate(4242, 2000, 30, 10);
    Path input = dir.resolve("events.jsonl");
    EventJson json = new EventJson(spec.schema());
    Files.write(input, events.stream().map(json::format).toList());
    // The example: card in arrival order (the partition key), merchant read as of 2 s earlier.
    Collection<FeatureRow> streamed = FeaturePipelineITCase.stream(spec, input, 4, 2, "rocksdb",
        java.time.Duration.ZERO, dir).values();
    assertThat(streamed).hasSameSizeAs(events);

    try (Connection db = DriverManager.getConnection("jdbc:h2:mem:vigil" + System.nanoTime())) {
      try (Statement s = db.createStatement()) {
        s.execute("CREATE TABLE tx (id VARCHAR PRIMARY KEY, card VARCHAR, merchant VARCHAR,"
            + " amount BIGINT, ts BIGINT)");
      }
      try (PreparedStatement p = db.prepareStatement("INSERT INTO tx VALUES (?, ?, ?, ?, ?)")) {
        for (Transaction t : events) {
          p.setString(1, t.getTransactionId());
          p.setString(2, t.getCardId());
          p.setString(3, t.getMerchantId());
          p.setLong(4, t.getAmountCents());
          p.setLong(5, t.getEventTime().toEpochMilli());
          p.addBatch();
        }
        p.executeBatch();
      }
      // floor_r(t - W) with integer division (all times are positive): ((t - W) / r) * r
      String sql = "SELECT e.id, e.ts,"
          + " (SELECT COUNT(*) FROM tx p WHERE p.card = e.card AND p.ts >= ((e.ts - " + 365 * DAY
          + ") / " + DAY + ") * " + DAY + " AND p.ts < e.ts),"
          + " (SELECT COALESCE(SUM(p.amount), 0) FROM tx p WHERE p.card = e.card AND p.ts >= ((e.ts - "
          + 30 * DAY + ") / " + DAY + ") * " + DAY + " AND p.ts < e.ts),"
          + " (SELECT MAX(p.amount) FROM tx p WHERE p.card = e.card AND p.ts >= ((e.ts - " + 24 * HOUR
          + ") / " + HOUR + ") * " + HOUR + " AND p.ts < e.ts),"
          + " (SELECT COUNT(DISTINCT p.merchant) FROM tx p WHERE p.card = e.card AND p.ts >= ((e.ts - "
          + 7 * DAY + ") / " + HOUR + ") * " + HOUR + " AND p.ts < e.ts),"
          + " e.ts - (SELECT MAX(p.ts) FROM tx p WHERE p.card = e.card AND p.ts < e.ts),"
          + " e.ts - (SELECT MIN(p.ts) FROM tx p WHERE p.card = e.card AND p.ts < e.ts),"
          + " (SELECT COUNT(*) FROM tx p WHERE p.merchant = e.merchant AND p.ts >= ((e.ts - 2000 - "
          + HOUR + ") / 300000) * 300000 AND p.ts < e.ts - 2000)"
          + " FROM tx e WHERE e.id = ?";
      try (PreparedStatement q = db.prepareStatement(sql)) {
        for (FeatureRow row : streamed) {
          q.setString(1, row.transactionId());
          try (ResultSet r = q.executeQuery()) {
            assertThat(r.next()).isTrue();
            List<Object> sqlValues = new ArrayList<>();
            for (int c = 3; c <= 9; c++) {
              long v = r.getLong(c);
              sqlValues.add(r.wasNull() ? null : v);
            }
            assertThat(java.util.Arrays.asList(row.values())).as("event %s", row.transactionId())
                .isEqualTo(sqlValues);
          }
        }
      }
    }
  }

  /**
   * Through {@code vigil run} itself (its output file, parallelism 2): minimum, integer mean, last
   * value (ties in a millisecond: the greatest), lifetime sum, a 90 s count (its own resolution) and a merchant's
   * distinct cards, each as one plain SQL query over events generated here.
   */
  @Test
  void theRunCommandsOutputMatchesPlainSql() throws Exception {
    Path specFile = dir.resolve("features.yaml");
    Files.writeString(specFile,
        "source: {subject: payments.transactions-value, event_time: event_time}\n"
            + "entities: {card: card_id, merchant: merchant_id}\nfeatures:\n"
            + "  - {name: min7d, entity: card, aggregation: min, field: amount_cents, window: 7d}\n"
            + "  - {name: mean24h, entity: card, aggregation: mean, field: amount_cents,"
            + " window: 24h}\n"
            + "  - {name: last_m, entity: card, aggregation: last, field: merchant_id}\n"
            + "  - {name: s_life, entity: card, aggregation: sum, field: amount_cents}\n"
            + "  - {name: c90s, entity: card, aggregation: count, window: 90s}\n"
            + "  - {name: m_cards1d, entity: merchant, aggregation: distinct_count,"
            + " field: card_id, window: 1d}\n");
    CompiledSpec spec = CompiledSpec.load(specFile);
    List<Transaction> events = RandomStreams.generate(9001, 1500, 25, 8);
    Path input = dir.resolve("events.jsonl");
    EventJson json = new EventJson(spec.schema());
    Files.write(input, events.stream().map(json::format).toList());
    Path output = dir.resolve("out.jsonl");
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new RunCommand())
        .setErr(new PrintWriter(err, true))
        .execute("--spec", specFile.toString(), "--input", input.toString(),
            "--output", output.toString(), "--parallelism", "2", "--partitions", "3");
    assertThat(exit).as(err.toString()).isZero();
    List<String> lines = Files.readAllLines(output);
    assertThat(lines).hasSize(events.size());

    try (Connection db = DriverManager.getConnection("jdbc:h2:mem:vigil" + System.nanoTime())) {
      try (Statement s = db.createStatement()) {
        s.execute("CREATE TABLE tx (id VARCHAR PRIMARY KEY, pos INT, card VARCHAR,"
            + " merchant VARCHAR, amount BIGINT, ts BIGINT)");
      }
      try (PreparedStatement p = db.prepareStatement("INSERT INTO tx VALUES (?, ?, ?, ?, ?, ?)")) {
        int pos = 0;
        for (Transaction t : events) {
          p.setString(1, t.getTransactionId());
          p.setInt(2, pos++);
          p.setString(3, t.getCardId());
          p.setString(4, t.getMerchantId());
          p.setLong(5, t.getAmountCents());
          p.setLong(6, t.getEventTime().toEpochMilli());
          p.addBatch();
        }
        p.executeBatch();
      }
      String card = "FROM tx p WHERE p.card = e.card AND p.ts < e.ts";
      String sql = "SELECT"
          + " (SELECT MIN(p.amount) " + card + " AND p.ts >= ((e.ts - " + 7 * DAY + ") / " + HOUR
          + ") * " + HOUR + "),"
          + " (SELECT CAST(SUM(p.amount) AS DOUBLE) / COUNT(*) " + card + " AND p.ts >= ((e.ts - "
          + DAY + ") / " + HOUR + ") * " + HOUR + "),"
          + " (SELECT p.merchant " + card + " ORDER BY p.ts DESC, p.merchant DESC LIMIT 1),"
          + " (SELECT COALESCE(SUM(p.amount), 0) " + card + "),"
          // a window shorter than 5 minutes is its own resolution (docs/feature-spec.md)
          + " (SELECT COUNT(*) " + card + " AND p.ts >= ((e.ts - 90000) / 90000) * 90000),"
          + " (SELECT COUNT(DISTINCT p.card) FROM tx p WHERE p.merchant = e.merchant"
          + " AND p.ts < e.ts AND p.ts >= ((e.ts - " + DAY + ") / " + HOUR + ") * " + HOUR + ")"
          + " FROM tx e WHERE e.id = ?";
      ObjectMapper mapper =
          new ObjectMapper();
      try (PreparedStatement q = db.prepareStatement(sql)) {
        for (String line : lines) {
          var row = mapper.readTree(line);
          var f = row.get("features");
          q.setString(1, row.get("transaction_id").asText());
          try (ResultSet r = q.executeQuery()) {
            assertThat(r.next()).isTrue();
            List<Object> fromSql = new ArrayList<>();
            List<Object> fromRun = new ArrayList<>();
            for (int c = 1; c <= 6; c++) {
              Object v = r.getObject(c);
              // column 2 is the mean: a double, whatever numeric type H2 picked for it
              fromSql.add(v == null ? null : c == 2 ? (Object) r.getDouble(c)
                  : v instanceof Number n ? (Object) n.longValue() : v);
            }
            for (String name : List.of("min7d", "mean24h", "last_m", "s_life", "c90s",
                "m_cards1d")) {
              var v = f.get(name);
              fromRun.add(v.isNull() ? null : v.isIntegralNumber() ? v.asLong()
                  : v.isNumber() ? v.asDouble() : v.asText());
            }
            assertThat(fromRun).as(line).isEqualTo(fromSql);
          }
        }
      }
    }
  }
}
