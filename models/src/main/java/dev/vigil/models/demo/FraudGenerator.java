package dev.vigil.models.demo;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import java.time.Duration;
import java.time.Instant;
import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.PriorityQueue;
import java.util.SplittableRandom;

/**
 * Deterministic synthetic card payments with injected fraud and a ground-truth label per
 * transaction, in event-time order.
 *
 * <p>Each card pays at its own Poisson rate (a few cards are nearly dormant) at a few favourite
 * merchants in its home country. Fraud episodes arrive as a Poisson process of their own, each one
 * of:
 *
 * <ul>
 *   <li>{@value #CARD_TESTING}: many small e-commerce amounts on one card within minutes;
 *   <li>{@value #DORMANT_BIG_SPEND}: a dormant card suddenly spending big;
 *   <li>{@value #MERCHANT_VELOCITY}: one merchant, many different cards within minutes;
 *   <li>{@value #TWO_COUNTRIES}: a card used at home, then abroad minutes later (the second is
 *       fraud).
 * </ul>
 *
 * <p>Streams: memory is one pending payment per card plus the open episodes, whatever the span.
 * The same arguments give the same payments, ids and labels.
 */
public final class FraudGenerator {
  public static final String LEGIT = "none";
  public static final String CARD_TESTING = "card_testing";
  public static final String DORMANT_BIG_SPEND = "dormant_big_spend";
  public static final String MERCHANT_VELOCITY = "merchant_velocity";
  public static final String TWO_COUNTRIES = "two_countries";

  /** A payment and whether it is fraud ({@code pattern}: which one, or {@value #LEGIT}). */
  public record Labelled(Transaction tx, boolean fraud, String pattern) {}

  private static final String[] HOME = {"FR", "DE", "ES", "IT", "NL", "BE", "PT", "IE", "AT", "PL"};
  private static final String[] ABROAD = {"US", "BR", "NG", "TH", "AE", "MX", "ID", "TR"};
  private static final long MINUTE = 60_000L;
  private static final long DAY = 86_400_000L;
  /** Fraud episodes per legitimate payment (about 3-5% of payments end up fraudulent). */
  private static final double EPISODES_PER_PAYMENT = 0.004;
  /** One card in this many is nearly dormant (pays 40x less often). */
  private static final int DORMANT_EVERY = 20;

  private FraudGenerator() {}

  /**
   * Payments of {@code cards} cards from {@code start} for {@code span}, about {@code
   * txPerCardPerDay} legitimate payments per active card and day, plus fraud.
   */
  public static Iterator<Labelled> generate(
      long seed, int cards, Instant start, Duration span, double txPerCardPerDay) {
    if (cards < 1 || span.isNegative() || !(txPerCardPerDay > 0)) {
      throw new IllegalArgumentException(
          "need cards >= 1 (got " + cards + "), span >= 0 (got " + span + ") and txPerCardPerDay > 0 (got "
              + txPerCardPerDay + ")");
    }
    return new Stream(seed, cards, start.toEpochMilli(), start.toEpochMilli() + span.toMillis(), txPerCardPerDay);
  }

  /** A payment due at {@code time}; {@code card < 0} marks the next fraud episode. */
  private record Pending(
      long time,
      long seq,
      int card,
      boolean regular,
      int merchant,
      long amount,
      Channel channel,
      String country,
      String device,
      String pattern) {}

  private static final class Stream implements Iterator<Labelled> {
    private final SplittableRandom random;
    private final int cards;
    private final int merchants;
    private final long end;
    private final double[] meanGapMs;
    private final String[] home;
    private final int[][] favourites;
    private final boolean[] hasDevice;
    private final double episodeGapMs;
    private final PriorityQueue<Pending> queue =
        new PriorityQueue<>(
            (a, b) -> a.time != b.time ? Long.compare(a.time, b.time) : Long.compare(a.seq, b.seq));
    private long seq;
    private long emitted;
    private Labelled next;

    Stream(long seed, int cards, long start, long end, double txPerCardPerDay) {
      this.random = new SplittableRandom(seed);
      this.cards = cards;
      this.merchants = Math.max(20, cards / 10);
      this.end = end;
      this.meanGapMs = new double[cards];
      this.home = new String[cards];
      this.favourites = new int[cards][];
      this.hasDevice = new boolean[cards];
      for (int c = 0; c < cards; c++) {
        boolean dormant = c % DORMANT_EVERY == DORMANT_EVERY - 1;
        meanGapMs[c] = DAY / txPerCardPerDay * (dormant ? 40 : 1);
        home[c] = HOME[Math.min(HOME.length - 1, (int) (HOME.length * random.nextDouble() * random.nextDouble()))];
        favourites[c] = new int[] {popularMerchant(), popularMerchant(), popularMerchant()};
        hasDevice[c] = random.nextDouble() < 0.7;
        push(new Pending(start + gap(meanGapMs[c]), seq++, c, true, 0, 0, null, null, null, FraudGenerator.LEGIT));
      }
      this.episodeGapMs = DAY / (cards * txPerCardPerDay * EPISODES_PER_PAYMENT);
      push(episodeTick(start + gap(episodeGapMs)));
    }

    @Override
    public boolean hasNext() {
      while (next == null) {
        Pending p = queue.poll();
        if (p == null || p.time >= end) {
          queue.clear();
          return false;
        }
        if (p.card < 0) {
          startEpisode(p.time);
          push(episodeTick(p.time + gap(episodeGapMs)));
        } else if (p.regular) {
          next = regular(p);
          push(new Pending(p.time + gap(meanGapMs[p.card]), seq++, p.card, true, 0, 0, null, null, null, LEGIT));
        } else {
          next = labelled(p.time, p.card, p.merchant, p.amount, p.channel, p.country, p.device, p.pattern);
        }
      }
      return true;
    }

    @Override
    public Labelled next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      Labelled result = next;
      next = null;
      return result;
    }

    private Labelled regular(Pending p) {
      int c = p.card;
      int merchant = random.nextDouble() < 0.7 ? favourites[c][random.nextInt(3)] : popularMerchant();
      double u = random.nextDouble();
      Channel channel =
          u < 0.55 ? Channel.POS : u < 0.9 ? Channel.ECOMMERCE : u < 0.95 ? Channel.ATM : u < 0.98 ? Channel.MOTO : Channel.UNKNOWN;
      long amount =
          channel == Channel.ATM
              ? 2_000L * (1 + random.nextInt(15))
              : Math.min(500_000L, Math.max(50L, Math.round(Math.exp(8.16 + random.nextGaussian()))));
      String device = channel == Channel.ECOMMERCE && hasDevice[c] ? "d" + c : null;
      String country = random.nextDouble() < 0.97 ? home[c] : HOME[random.nextInt(HOME.length)];
      return labelled(p.time, c, merchant, amount, channel, country, device, LEGIT);
    }

    private void startEpisode(long t0) {
      double u = random.nextDouble();
      if (u < 0.35) {
        int c = activeCard();
        int merchant = random.nextInt(merchants);
        int n = 6 + random.nextInt(15);
        String device = random.nextDouble() < 0.5 ? "x" + seq : null;
        String country = random.nextDouble() < 0.5 ? home[c] : ABROAD[random.nextInt(ABROAD.length)];
        long t = t0;
        for (int i = 0; i < n; i++) {
          fraud(t, c, merchant, 100 + random.nextInt(900), Channel.ECOMMERCE, country, device, CARD_TESTING);
          t += 10_000 + random.nextInt(80_000);
        }
      } else if (u < 0.55) {
        int c = dormantCard();
        int n = 1 + random.nextInt(3);
        String country = random.nextDouble() < 0.5 ? home[c] : ABROAD[random.nextInt(ABROAD.length)];
        long t = t0;
        for (int i = 0; i < n; i++) {
          Channel channel = random.nextDouble() < 0.7 ? Channel.ECOMMERCE : Channel.POS;
          fraud(t, c, random.nextInt(merchants), 80_000 + random.nextInt(320_000), channel, country,
              channel == Channel.ECOMMERCE ? "x" + seq : null, DORMANT_BIG_SPEND);
          t += 2 * MINUTE + random.nextInt((int) (18 * MINUTE));
        }
      } else if (u < 0.75) {
        int merchant = random.nextInt(merchants);
        int n = 10 + random.nextInt(21);
        long window = 5 * MINUTE + random.nextInt((int) (10 * MINUTE));
        for (int i = 0; i < n; i++) {
          int c = random.nextInt(cards);
          fraud(t0 + (long) (random.nextDouble() * window), c, merchant, 2_000 + random.nextInt(18_000),
              Channel.ECOMMERCE, home[c], null, MERCHANT_VELOCITY);
        }
      } else {
        int c = activeCard();
        push(new Pending(t0, seq++, c, false, favourites[c][0], Math.round(Math.exp(8.16 + random.nextGaussian() * 0.5)),
            Channel.POS, home[c], null, LEGIT));
        fraud(t0 + 2 * MINUTE + random.nextInt((int) (18 * MINUTE)), c, random.nextInt(merchants),
            5_000 + random.nextInt(95_000), Channel.POS, ABROAD[random.nextInt(ABROAD.length)], null, TWO_COUNTRIES);
      }
    }

    private void fraud(long time, int card, int merchant, long amount, Channel channel, String country, String device, String pattern) {
      push(new Pending(time, seq++, card, false, merchant, amount, channel, country, device, pattern));
    }

    private Labelled labelled(long time, int card, int merchant, long amount, Channel channel, String country, String device, String pattern) {
      Transaction tx =
          new Transaction("t" + emitted++, "c" + card, "m" + merchant, amount, "EUR", Instant.ofEpochMilli(time),
              channel, device, country);
      return new Labelled(tx, !pattern.equals(LEGIT), pattern);
    }

    private Pending episodeTick(long time) {
      return new Pending(time, seq++, -1, false, 0, 0, null, null, null, LEGIT);
    }

    private void push(Pending p) {
      queue.add(p);
    }

    /** Exponential inter-arrival time with the given mean, at least 1 ms. */
    private long gap(double meanMs) {
      return Math.max(1, Math.round(-Math.log(1 - random.nextDouble()) * meanMs));
    }

    /** Skewed towards low ids: a few merchants take most payments. */
    private int popularMerchant() {
      double u = random.nextDouble();
      return (int) (merchants * u * u);
    }

    private int activeCard() {
      int c = random.nextInt(cards);
      return cards >= DORMANT_EVERY && c % DORMANT_EVERY == DORMANT_EVERY - 1 ? (c + 1) % cards : c;
    }

    private int dormantCard() {
      if (cards < DORMANT_EVERY) {
        return random.nextInt(cards);
      }
      return random.nextInt(cards / DORMANT_EVERY) * DORMANT_EVERY + DORMANT_EVERY - 1;
    }
  }
}
