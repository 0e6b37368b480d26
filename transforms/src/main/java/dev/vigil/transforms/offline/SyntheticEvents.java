package dev.vigil.transforms.offline;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.EventJson;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;

/**
 * Writes a large JSON-lines event file for measuring {@code features backfill}: event {@code i} is
 * computed from {@code i} alone, spread evenly over {@code days}, on a card and merchant hashed
 * from {@code i}. With {@code jitterMinutes > 0} each event time moves by up to that much either
 * way, so the file is not in time order and backfill sorts it externally.
 *
 * <pre>
 * java -cp … dev.vigil.transforms.offline.SyntheticEvents OUT.jsonl EVENTS CARDS DAYS [JITTER_MIN]
 * </pre>
 */
public final class SyntheticEvents {
  private SyntheticEvents() {}

  public static void main(String[] args) throws Exception {
    long jitter = args.length > 4 ? Long.parseLong(args[4]) * 60_000L : 0;
    write(Path.of(args[0]), Long.parseLong(args[1]), Integer.parseInt(args[2]),
        Integer.parseInt(args[3]), jitter);
  }

  /**
   * Writes {@code n} events of {@code cards} cards over {@code days} days from 2025-01-01, each
   * moved by up to {@code jitterMillis} either way; returns the last event's time.
   */
  public static long write(Path out, long n, int cards, int days, long jitterMillis)
      throws IOException {
    long start = Instant.parse("2025-01-01T00:00:00Z").toEpochMilli();
    double step = days * 86_400_000.0 / n;
    EventJson json = new EventJson(Transaction.getClassSchema());
    Channel[] channels = Channel.values();
    long t = start;
    try (BufferedWriter w = Files.newBufferedWriter(out, StandardCharsets.UTF_8)) {
      for (long i = 0; i < n; i++) {
        long h = mix(i * 31 + 7);
        t = start + (long) (i * step);
        if (jitterMillis > 0) {
          t += Math.floorMod(mix(i * 17 + 3), 2 * jitterMillis + 1) - jitterMillis;
        }
        Transaction e = Transaction.newBuilder()
            .setTransactionId("t" + i)
            .setCardId("c" + Math.floorMod(mix(i), cards))
            .setMerchantId("m" + Math.floorMod(h >>> 20, 5000))
            .setAmountCents(Math.floorMod(h, 200_000L))
            .setCurrency("EUR")
            .setEventTime(Instant.ofEpochMilli(t))
            .setChannel(channels[(int) Math.floorMod(h >>> 40, channels.length)])
            .setDeviceId((h & 3) == 0 ? null : "d" + Math.floorMod(h >>> 8, 100_000))
            .setCountry((h & 4) == 0 ? "DE" : "FR")
            .build();
        w.write(json.format(e));
        w.write('\n');
      }
    }
    return t;
  }

  /**
   * MurmurHash3's 64-bit finalizer: the synthetic generators' source of pseudo-random numbers
   * (event {@code i} is computed from {@code i} alone), shared by the benchmarks' generators.
   */
  public static long mix(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
