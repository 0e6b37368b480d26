package dev.vigil.transforms.testing;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * Random transaction streams that stress the feature semantics: many keys, per-key time order,
 * bursts, same-millisecond events, gaps longer than windows, events exactly on tile boundaries,
 * null fields. Deterministic per seed. Globally ordered by event time (ties in generation order).
 */
public final class RandomStreams {
  private RandomStreams() {}

  public static List<Transaction> generate(long seed, int events, int cards, int merchants) {
    Random r = new Random(seed);
    List<Transaction> out = new ArrayList<>(events);
    long t = Instant.parse("2026-01-01T00:00:00Z").toEpochMilli();
    for (int i = 0; i < events; i++) {
      int mode = r.nextInt(100);
      if (mode < 50) {
        t += r.nextInt(60_000); // seconds to a minute
      } else if (mode < 65) {
        // same millisecond as the previous event
      } else if (mode < 80) {
        t += r.nextInt(3_600_000) + 1; // up to an hour
      } else if (mode < 90) {
        t += 86_400_000L * (1 + r.nextInt(3)); // days
      } else if (mode < 95) {
        t = (t / 3_600_000L + 1) * 3_600_000L; // exactly on an hour (and 5-minute) boundary
      } else if (mode < 98) {
        t = (t / 86_400_000L + 1) * 86_400_000L; // exactly on a day boundary
      } else {
        t += 86_400_000L * (20 + r.nextInt(400)); // gaps longer than most windows
      }
      int card = r.nextInt(10) < 4 ? r.nextInt(Math.max(1, cards / 10)) : r.nextInt(cards);
      out.add(
          Transaction.newBuilder()
              .setTransactionId("t" + i)
              .setCardId("c" + card)
              .setMerchantId("m" + r.nextInt(merchants))
              .setAmountCents(r.nextInt(5) == 0 ? r.nextInt(500) : r.nextInt(200_000))
              .setCurrency("EUR")
              .setEventTime(Instant.ofEpochMilli(t))
              .setChannel(Channel.values()[r.nextInt(4)])
              .setDeviceId(r.nextInt(3) == 0 ? null : "d" + r.nextInt(20))
              .setCountry(r.nextInt(4) == 0 ? null : List.of("DE", "FR", "NL").get(r.nextInt(3)))
              .build());
    }
    return out;
  }
}
