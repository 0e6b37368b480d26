package dev.vigil.transforms.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.EventJson;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.testing.RandomStreams;
import dev.vigil.transforms.testing.TestClusters;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * An independent check: the example spec's features computed by plain SQL in an in-process H2
 * database, straight from the definitions, on random data generated here (not in the repo),
 * compared with the streaming operators' output.
 */
class IndependentSqlITCase {
  @RegisterExtension
  static final MiniClusterExtension CLUSTER = TestClusters.twoSlots();

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
    List<FeatureRow> streamed =
        FeaturePipelineITCase.stream(spec, input, 2, "rocksdb", dir.resolve("chk"));

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
          + " (SELECT COUNT(*) FROM tx p WHERE p.merchant = e.merchant AND p.ts >= ((e.ts - " + HOUR
          + ") / 300000) * 300000 AND p.ts < e.ts)"
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
}
