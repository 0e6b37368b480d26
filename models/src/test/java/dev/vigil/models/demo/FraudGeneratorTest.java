package dev.vigil.models.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Transaction;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class FraudGeneratorTest {
  private static final Instant START = Instant.parse("2026-03-01T00:00:00Z");

  private static List<FraudGenerator.Labelled> all(long seed, int cards, int days) {
    List<FraudGenerator.Labelled> out = new ArrayList<>();
    Iterator<FraudGenerator.Labelled> it = FraudGenerator.generate(seed, cards, START, Duration.ofDays(days), 3);
    it.forEachRemaining(out::add);
    return out;
  }

  @Test
  void theSameSeedGivesTheSamePaymentsAndLabelsAndAnotherSeedDoesNot() {
    List<FraudGenerator.Labelled> a = all(7, 200, 10);
    assertThat(all(7, 200, 10)).isEqualTo(a);
    assertThat(all(8, 200, 10)).isNotEqualTo(a);
  }

  @Test
  void paymentsAreInEventTimeOrderWithinTheSpanWithUniqueIdsAndValidFields() {
    List<FraudGenerator.Labelled> data = all(1, 500, 20);
    assertThat(data).hasSizeGreaterThan(500 * 20 * 2);
    Set<String> ids = new HashSet<>();
    Instant previous = START;
    for (FraudGenerator.Labelled l : data) {
      Transaction t = l.tx();
      assertThat(ids.add(t.getTransactionId())).as("unique %s", t.getTransactionId()).isTrue();
      assertThat(t.getEventTime()).isAfterOrEqualTo(previous).isBefore(START.plus(Duration.ofDays(20)));
      previous = t.getEventTime();
      assertThat(t.getCardId()).matches("c\\d+");
      assertThat(t.getMerchantId()).matches("m\\d+");
      assertThat(t.getAmountCents()).isNotNegative();
      assertThat(t.getCurrency()).isEqualTo("EUR");
      assertThat(t.getCountry()).matches("[A-Z]{2}");
      assertThat(l.fraud()).isEqualTo(!l.pattern().equals(FraudGenerator.LEGIT));
    }
    assertThat(data).anyMatch(l -> l.tx().getDeviceId() == null).anyMatch(l -> l.tx().getDeviceId() != null);
  }

  @Test
  void everyFraudPatternAppearsWithItsShape() {
    List<FraudGenerator.Labelled> data = all(3, 1000, 30);
    Map<String, List<FraudGenerator.Labelled>> byPattern = new HashMap<>();
    for (FraudGenerator.Labelled l : data) {
      byPattern.computeIfAbsent(l.pattern(), k -> new ArrayList<>()).add(l);
    }
    assertThat(byPattern)
        .containsKeys(
            FraudGenerator.CARD_TESTING,
            FraudGenerator.DORMANT_BIG_SPEND,
            FraudGenerator.MERCHANT_VELOCITY,
            FraudGenerator.TWO_COUNTRIES);
    double fraudShare = 1 - byPattern.get(FraudGenerator.LEGIT).size() / (double) data.size();
    assertThat(fraudShare).isBetween(0.01, 0.10);
    assertThat(byPattern.get(FraudGenerator.CARD_TESTING)).allMatch(l -> l.tx().getAmountCents() < 1_000);
    assertThat(byPattern.get(FraudGenerator.DORMANT_BIG_SPEND)).allMatch(l -> l.tx().getAmountCents() >= 80_000);
    assertThat(byPattern.get(FraudGenerator.TWO_COUNTRIES))
        .allMatch(l -> !Set.of("FR", "DE", "ES", "IT", "NL", "BE", "PT", "IE", "AT", "PL").contains(l.tx().getCountry()));
  }

  @Test
  void streamsAYearOfAThousandCardsWithoutHoldingIt() {
    Iterator<FraudGenerator.Labelled> it = FraudGenerator.generate(5, 1000, START, Duration.ofDays(365), 3);
    long n = 0;
    long started = System.nanoTime();
    while (it.hasNext()) {
      it.next();
      n++;
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    System.out.printf("FraudGenerator: %,d payments in %.2f s (%,.0f/s)%n", n, seconds, n / seconds);
    assertThat(n).isGreaterThan(1000L * 365 * 2);
  }
}
