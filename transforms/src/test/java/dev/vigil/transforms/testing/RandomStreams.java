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

  /**
   * {@link #generate}, then disordered: about one event in ten is moved later in the stream by up
   * to {@code maxShift} positions (so it arrives after newer events of its key), and one in two
   * hundred is moved by up to ten times that (often late for short windows).
   */
  public static List<Transaction> outOfOrder(long seed, int events, int cards, int merchants,
      int maxShift) {
    List<Transaction> out = new ArrayList<>(generate(seed, events, cards, merchants));
    Random r = new Random(seed * 31 + 1);
    for (int i = out.size() - 1; i >= 0; i--) {
      int roll = r.nextInt(200);
      int shift = roll == 0 ? r.nextInt(maxShift * 10 + 1) : roll < 20 ? r.nextInt(maxShift + 1) : 0;
      int to = Math.min(out.size() - 1, i + shift);
      if (to > i) {
        out.add(to, out.remove(i));
      }
    }
    return out;
  }
}
