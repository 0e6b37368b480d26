package dev.vigil.transforms.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import java.time.Instant;
import java.util.Random;
import org.apache.avro.generic.IndexedRecord;
import org.junit.jupiter.api.Test;

/** The streaming path of {@link EventJson#parse} against its tree-model path. */
class EventJsonTest {
  private final EventJson json = new EventJson(Transaction.getClassSchema());

  @Test
  void timestampsConvertLikeInstantParse() {
    Random random = new Random(3);
    long max = Instant.parse("9999-12-31T23:59:59.999Z").toEpochMilli();
    for (int i = 0; i < 200_000; i++) {
      long millis = i < 1000 ? i : Math.floorMod(random.nextLong(), max);
      Instant at = Instant.ofEpochMilli(millis);
      String withMillis = EventJson.ISO_MILLIS.format(at);
      assertThat(EventJson.isoMillis(withMillis)).as(withMillis).isEqualTo(millis);
      String seconds = withMillis.substring(0, 19) + "Z";
      assertThat(EventJson.isoMillis(seconds)).as(seconds)
          .isEqualTo(Instant.parse(seconds).toEpochMilli());
    }
    for (String leap : new String[] {"2024-02-29T00:00:00Z", "2000-02-29T12:00:00.000Z"}) {
      assertThat(EventJson.isoMillis(leap)).isEqualTo(Instant.parse(leap).toEpochMilli());
    }
  }

  @Test
  void timestampsOfAnyOtherFormAreLeftToInstantParse() {
    for (String s : new String[] {"2023-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
        "2026-13-01T00:00:00Z", "2026-04-31T00:00:00Z", "2026-03-01T24:00:00Z",
        "2026-03-01T12:60:00Z", "2026-03-01T12:00:60Z", "2026-03-01T12:00:00.12Z",
        "2026-03-01 12:00:00Z", "2026-03-01T12:00:00+01:00", "1969-12-31T23:59:59Z",
        "2026-03-0xT12:00:00Z", "2026-03-01T-1:00:00Z", "2026-03-01T12:00:00.1234Z"}) {
      assertThat(EventJson.isoMillis(s)).as(s).isEqualTo(Long.MIN_VALUE);
    }
  }

  @Test
  void wellFormedEventsTakeTheStreamingPathAndEqualTheTreePath() throws Exception {
    Random random = new Random(5);
    Channel[] channels = Channel.values();
    for (int i = 0; i < 20_000; i++) {
      Transaction t = new Transaction("t" + i, "c\u00e9\"" + random.nextInt(100),
          "m\\" + random.nextInt(50), (long) random.nextInt(1 << 30) * (i % 3 == 0 ? 1 << 20 : 1),
          "EUR", Instant.ofEpochMilli(Math.floorMod(random.nextLong(), 4_000_000_000_000L)),
          channels[i % channels.length], i % 2 == 0 ? null : "d" + i, i % 5 == 0 ? null : "DE");
      String line = json.format(t);
      IndexedRecord fast = json.parseFast(line);
      assertThat(fast).as(line).isNotNull().isEqualTo(json.parseTree(line)).isEqualTo(t);
    }
    // Epoch millis, fields in any order, nullable fields left out, a repeated field (last wins).
    String[] lines = {
        "{\"event_time\":1772366400000,\"transaction_id\":\"a\",\"card_id\":\"c\",\"merchant_id\":\"m\","
            + "\"amount_cents\":5,\"currency\":\"EUR\",\"channel\":\"ATM\"}",
        "{\"transaction_id\":\"a\",\"card_id\":\"c\",\"merchant_id\":\"m\",\"amount_cents\":5,"
            + "\"currency\":\"EUR\",\"event_time\":\"2026-03-01T12:00:00Z\",\"channel\":\"POS\","
            + "\"device_id\":null,\"country\":\"FR\",\"country\":\"NL\"}"};
    for (String line : lines) {
      IndexedRecord fast = json.parseFast(line);
      assertThat(fast).as(line).isNotNull().isEqualTo(json.parseTree(line));
    }
  }

  @Test
  void badLinesFallBackAndAreReportedAsTheTreePathReportsThem() {
    String ok = "\"transaction_id\":\"a\",\"card_id\":\"c\",\"merchant_id\":\"m\","
        + "\"currency\":\"EUR\",\"event_time\":\"2026-03-01T12:00:00.000Z\",\"channel\":\"POS\"";
    String[][] cases = {
        {"{" + ok + ",\"amount_cents\":\"5\"}", "field 'amount_cents' must be a whole number, got \"5\""},
        {"{" + ok + ",\"amount_cents\":5.5}", "field 'amount_cents' must be a whole number, got 5.5"},
        {"{" + ok + ",\"amount_cents\":null}", "field 'amount_cents' is required (long)"},
        {"{" + ok + "}", "field 'amount_cents' is required (long)"},
        {"{" + ok + ",\"amount_cents\":5,\"tip\":1}", "unknown field 'tip'"},
        {"{" + ok + ",\"amount_cents\":5", "not valid JSON"},
        {"[1,2]", "expected a JSON object, one event per line"},
        {"{" + ok.replace("2026-03-01T12:00:00.000Z", "yesterday") + ",\"amount_cents\":5}",
            "field 'event_time': 'yesterday' is not an ISO-8601 UTC time"},
        {"{" + ok.replace("\"POS\"", "\"CASH\"") + ",\"amount_cents\":5}",
            "field 'channel' must be one of [POS, ECOMMERCE, ATM, MOTO, UNKNOWN], got \"CASH\""},
        {"{" + ok + ",\"amount_cents\":5,\"country\":{\"code\":\"DE\"}}",
            "field 'country' must be a string, got {\"code\":\"DE\"}"},
    };
    for (String[] c : cases) {
      assertThat(json.parseFast(c[0])).as(c[0]).isNull();
      assertThatThrownBy(() -> json.parse(c[0])).as(c[0])
          .isInstanceOf(EventJson.BadEventException.class).hasMessageContaining(c[1]);
    }
  }

  @Test
  void aMissingRequiredFieldTakesTheTreePath() {
    String line = "{\"transaction_id\":\"a\",\"card_id\":\"c\",\"merchant_id\":\"m\","
        + "\"amount_cents\":5,\"currency\":\"EUR\",\"event_time\":\"2026-03-01T12:00:00.000Z\"}";
    assertThat(json.parseFast(line)).isNull();
    assertThatThrownBy(() -> json.parse(line)).hasMessage("field 'channel' is required (enum)");
  }
}
