package dev.vigil.benchmarks;

import static dev.vigil.transforms.offline.SyntheticEvents.mix;

import java.time.Instant;
import org.apache.flink.api.java.tuple.Tuple4;

/**
 * The benchmark's input: event {@code i} of {@code n} is computed from {@code i} alone, so every
 * contender reads the same stream. Time-ordered across all cards over {@code days} days; the card
 * of each event is a hash of {@code i}, so each card gets ≈ n / cards events spread over the year.
 * Fields: (card_id, event time millis, amount_cents, merchant_id).
 */
public final class SyntheticTransactions implements java.io.Serializable {
  private static final long serialVersionUID = 1L;
  public static final long START = Instant.parse("2025-01-01T00:00:00Z").toEpochMilli();
  private static final long DAY = 86_400_000L;

  private final long n;
  private final int cards;
  private final long spanMillis;

  public SyntheticTransactions(int cards, int days, double perCardPerDay) {
    this.cards = cards;
    this.n = Math.round(cards * (double) days * perCardPerDay);
    this.spanMillis = days * DAY;
  }

  public long events() {
    return n;
  }

  public int cards() {
    return cards;
  }

  public long time(long i) {
    return START + (long) ((double) i * spanMillis / n);
  }

  public String card(long i) {
    return "c" + Math.floorMod(mix(i), cards);
  }

  public Tuple4<String, Long, Long, String> event(long i) {
    long h = mix(i * 31 + 7);
    return Tuple4.of(card(i), time(i), Math.floorMod(h, 200_000L), "m" + Math.floorMod(h >>> 20, 500));
  }
}
