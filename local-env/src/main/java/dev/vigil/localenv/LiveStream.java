package dev.vigil.localenv;

import dev.vigil.avro.Transaction;
import dev.vigil.jobs.DeadLetters;
import dev.vigil.models.demo.FraudGenerator;
import dev.vigil.schemas.serde.AvroWireSerializer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The demo's live input, built before it is sent: {@code events} valid {@link FraudGenerator}
 * payments from the cut-over on (ids {@code live-<n>}, their fraud labels kept aside, never sent),
 * with {@code bad} malformed or contract-violating records at random positions. Bad record
 * {@code k} is of class {@code k mod 7}, in the order of {@link Bad}.
 */
final class LiveStream {
  /** The classes of bad records and the dead-letter reason each must get. */
  enum Bad {
    DUPLICATE(DeadLetters.DUPLICATE, "a producer retry of an earlier valid record"),
    NOT_FRAMED(DeadLetters.NOT_FRAMED, "plain JSON, no wire-format header"),
    UNKNOWN_SCHEMA_ID(DeadLetters.UNKNOWN_SCHEMA_ID, "a schema id the registry never issued"),
    TRUNCATED(DeadLetters.UNDECODABLE, "Avro cut in half"),
    NEGATIVE_AMOUNT(DeadLetters.NEGATIVE_AMOUNT, "amount_cents < 0"),
    EMPTY_CARD_ID(DeadLetters.MISSING_ENTITY_KEY, "card_id \"\""),
    FUTURE(DeadLetters.EVENT_TIME_OUT_OF_RANGE, "event_time a day ahead");

    final String reason;
    final String what;

    Bad(String reason, String what) {
      this.reason = reason;
      this.what = what;
    }
  }

  /**
   * One record to send. {@code valid >= 0}: the index of the valid transaction it carries (in
   * {@link #valid}); -1 for a bad one, whose class is {@code bad}.
   */
  record Rec(byte[] key, byte[] value, int valid, Bad bad) {}

  final List<Rec> records;
  final Transaction[] valid;
  final boolean[] fraud;
  final long lastEventMillis;

  private LiveStream(List<Rec> records, Transaction[] valid, boolean[] fraud, long lastEvent) {
    this.records = records;
    this.valid = valid;
    this.fraud = fraud;
    this.lastEventMillis = lastEvent;
  }

  static String id(int valid) {
    return "live-" + valid;
  }

  /** The valid index of an id {@code live-<n>}, or -1. */
  static int validIndex(String id) {
    if (!id.startsWith("live-")) {
      return -1;
    }
    try {
      return Integer.parseInt(id, 5, id.length(), 10);
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /**
   * {@code events} payments of {@code cards} cards from {@code cutover} over about {@code span}
   * of event time, plus {@code bad} bad records.
   */
  static LiveStream build(long seed, int cards, Instant cutover, Duration span, int events,
      int bad, AvroWireSerializer<Transaction> serializer) {
    Transaction[] txs = new Transaction[events];
    boolean[] fraud = new boolean[events];
    double days = span.toMillis() / 86_400_000.0;
    // A bit more than needed, so the first `events` fall inside the span; the generator's fraud
    // episodes scale with its payment rate.
    double perCardPerDay = 1.1 * events / (cards * days);
    for (int attempt = 0; ; attempt++) {
      Iterator<FraudGenerator.Labelled> it =
          FraudGenerator.generate(seed, cards, cutover, span, perCardPerDay);
      int n = 0;
      while (n < events && it.hasNext()) {
        FraudGenerator.Labelled l = it.next();
        Transaction t = l.tx();
        t.setTransactionId(id(n));
        txs[n] = t;
        fraud[n] = l.fraud();
        n++;
      }
      if (n == events) {
        break;
      }
      if (attempt == 5) {
        throw new IllegalStateException("the generator made only " + n + " of " + events
            + " live payments");
      }
      perCardPerDay *= 1.5;
    }

    SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
    int total = events + bad;
    // Bad records only after the first `bad` positions: a retry always has an earlier original.
    boolean[] isBad = new boolean[total];
    int placed = 0;
    while (placed < bad) {
      int p = bad + random.nextInt(total - bad);
      if (!isBad[p]) {
        isBad[p] = true;
        placed++;
      }
    }
    List<Rec> records = new ArrayList<>(total);
    int v = 0;
    int k = 0;
    long future = System.currentTimeMillis() + Duration.ofDays(1).toMillis();
    for (int p = 0; p < total; p++) {
      if (!isBad[p]) {
        Transaction t = txs[v];
        records.add(new Rec(key(t.getCardId()), serializer.serialize(t), v, null));
        v++;
        continue;
      }
      Bad b = Bad.values()[k % Bad.values().length];
      Transaction near = txs[Math.max(0, v - 1)];
      String id = "bad-" + k;
      byte[] keyBytes = key(near.getCardId());
      byte[] value = switch (b) {
        case DUPLICATE -> {
          int of = random.nextInt(v);
          keyBytes = key(txs[of].getCardId());
          yield serializer.serialize(txs[of]);
        }
        case NOT_FRAMED -> ("{\"transaction_id\":\"" + id + "\",\"card_id\":\""
            + near.getCardId() + "\",\"amount_cents\":1200}").getBytes(StandardCharsets.UTF_8);
        case UNKNOWN_SCHEMA_ID -> {
          byte[] bytes = serializer.serialize(copy(near, id));
          ByteBuffer.wrap(bytes, 1, 4).putInt(987_654_321);
          yield bytes;
        }
        case TRUNCATED -> {
          byte[] bytes = serializer.serialize(copy(near, id));
          yield Arrays.copyOf(bytes, bytes.length / 2);
        }
        case NEGATIVE_AMOUNT -> {
          Transaction t = copy(near, id);
          t.setAmountCents(-1_500L);
          yield serializer.serialize(t);
        }
        case EMPTY_CARD_ID -> {
          Transaction t = copy(near, id);
          t.setCardId("");
          keyBytes = null;
          yield serializer.serialize(t);
        }
        case FUTURE -> {
          Transaction t = copy(near, id);
          t.setEventTime(Instant.ofEpochMilli(future));
          yield serializer.serialize(t);
        }
      };
      records.add(new Rec(keyBytes, value, -1, b));
      k++;
    }
    return new LiveStream(records, txs, fraud, txs[events - 1].getEventTime().toEpochMilli());
  }

  private static Transaction copy(Transaction t, String id) {
    Transaction c = Transaction.newBuilder(t).build();
    c.setTransactionId(id);
    return c;
  }

  private static byte[] key(String card) {
    return card.getBytes(StandardCharsets.UTF_8);
  }

  int badCount(Bad b) {
    return (int) records.stream().filter(r -> r.bad() == b).count();
  }
}
