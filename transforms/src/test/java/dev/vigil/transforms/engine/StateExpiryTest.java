package dev.vigil.transforms.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.avro.Transaction;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.FeatureSpec;
import dev.vigil.transforms.spec.SpecException;
import dev.vigil.transforms.testing.RandomStreams;
import dev.vigil.transforms.testing.TestSpecs;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

/**
 * The claim the feature stage's event-time expiry rests on ({@link EntityEngine#stateTtlMillis}):
 * a key's state read or moved on at or after its newest event plus the TTL gives exactly what a
 * new key's would, so dropping it then changes no value. Checked by running random streams twice,
 * once keeping every state and once dropping each key's state as soon as a watermark just behind
 * the stream has passed newest + TTL, as the stage does. And {@code idle_ttl}: a lifetime entity
 * that starts afresh after a gap, the same online and offline.
 */
class StateExpiryTest {
  /** Every windowed aggregation of TestSpecs.ALL_FEATURES (no lifetime feature: a TTL exists). */
  static final String WINDOWED =
      "  - {name: c90s, entity: card, aggregation: count, window: 90s}\n"
          + "  - {name: c1h, entity: card, aggregation: count, window: 1h}\n"
          + "  - {name: s30d, entity: card, aggregation: sum, field: amount_cents, window: 30d}\n"
          + "  - {name: mean24h, entity: card, aggregation: mean, field: amount_cents, window: 24h}\n"
          + "  - {name: min7d, entity: card, aggregation: min, field: amount_cents, window: 7d}\n"
          + "  - {name: max30m, entity: card, aggregation: max, field: amount_cents, window: 30m, resolution: 1m}\n"
          + "  - {name: dm7d, entity: card, aggregation: distinct_count, field: merchant_id, window: 7d}\n"
          + "  - {name: ddev2h, entity: card, aggregation: distinct_count, field: device_id, window: 2h, resolution: 10m}\n"
          + "  - {name: last_dev_1h, entity: card, aggregation: last, field: device_id, window: 1h}\n"
          + "  - {name: tsl_1d, entity: card, aggregation: time_since_last, window: 1d}\n"
          + "  - {name: tsf_7d, entity: card, aggregation: time_since_first, window: 7d}\n";

  /** Lifetime features only. */
  static final String LIFETIME =
      "  - {name: n, entity: card, aggregation: count}\n"
          + "  - {name: s, entity: card, aggregation: sum, field: amount_cents}\n"
          + "  - {name: d, entity: card, aggregation: distinct_count, field: merchant_id}\n"
          + "  - {name: last_m, entity: card, aggregation: last, field: merchant_id}\n"
          + "  - {name: tsl, entity: card, aggregation: time_since_last}\n"
          + "  - {name: tsf, entity: card, aggregation: time_since_first}\n";

  /**
   * Each event's values, applied in stream order; with {@code expire}, before each event every key
   * whose newest + TTL the watermark (the previous event's time minus one) has passed loses its
   * state. Returns the values and how many states were dropped.
   */
  static Result run(EntityEngine engine, List<Transaction> events, boolean expire) {
    Map<String, byte[]> states = new HashMap<>();
    List<Object[]> values = new ArrayList<>();
    long dropped = 0;
    long ttl = engine.stateTtlMillis().orElse(Long.MAX_VALUE);
    long previous = Long.MIN_VALUE;
    for (Transaction e : events) {
      long watermark = previous == Long.MIN_VALUE ? Long.MIN_VALUE : previous - 1;
      if (expire && watermark != Long.MIN_VALUE) {
        for (Iterator<byte[]> it = states.values().iterator(); it.hasNext(); ) {
          long newest = engine.newestMillis(it.next());
          if (newest + ttl <= watermark) {
            it.remove();
            dropped++;
          }
        }
      }
      String key = engine.keyOf(e);
      EntityEngine.Result r = engine.apply(states.get(key), e);
      if (!r.late()) {
        states.put(key, r.newState());
      }
      values.add(r.values());
      previous = engine.eventTimeOf(e);
    }
    return new Result(values, dropped);
  }

  record Result(List<Object[]> values, long dropped) {}

  static void assertSameValues(List<Object[]> expected, List<Object[]> actual) {
    assertThat(actual).hasSameSizeAs(expected);
    for (int i = 0; i < expected.size(); i++) {
      assertThat(Arrays.asList(actual.get(i))).as("event %d", i)
          .isEqualTo(Arrays.asList(expected.get(i)));
    }
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3, 4})
  void droppingAStateOnceTheWatermarkPassesNewestPlusTtlChangesNoValue(long seed)
      throws Exception {
    EntityEngine engine = TestSpecs.spec(WINDOWED).engines().get(0);
    assertThat(engine.stateTtlMillis()).isPresent();
    List<Transaction> events = RandomStreams.generate(seed, 4000, 30, 10);
    Result kept = run(engine, events, false);
    Result expired = run(engine, events, true);
    assertThat(expired.dropped()).as("the stream has gaps longer than the TTL").isPositive();
    assertSameValues(kept.values(), expired.values());
  }

  @Test
  void aLifetimeEntityKeepsItsStateForEverWithoutAnIdleTtl() throws Exception {
    assertThat(TestSpecs.spec(LIFETIME).engines().get(0).stateTtlMillis()).isEmpty();
  }

  static CompiledSpec idle(String ttl, String features) throws Exception {
    return TestSpecs.spec("{card: {key: card_id, idle_ttl: " + ttl + "}, merchant: merchant_id}",
        features);
  }

  @ParameterizedTest(name = "seed {0}")
  @ValueSource(longs = {1, 2, 3})
  void withAnIdleTtlALifetimeKeyStartsAfreshAfterAGapAndDroppingItThenChangesNothing(long seed)
      throws Exception {
    EntityEngine forever = TestSpecs.spec(LIFETIME).engines().get(0);
    EntityEngine engine = idle("30d", LIFETIME).engines().get(0);
    assertThat(engine.stateTtlMillis()).hasValue(30 * 86_400_000L);
    List<Transaction> events = RandomStreams.generate(seed, 4000, 30, 10);
    // The idle reset, by brute force: the lifetime engine over each key's events since its last
    // gap of 30 days or more.
    Map<String, Long> newest = new HashMap<>();
    Map<String, byte[]> states = new HashMap<>();
    List<Object[]> expected = new ArrayList<>();
    long resets = 0;
    for (Transaction e : events) {
      String key = forever.keyOf(e);
      long t = forever.eventTimeOf(e);
      Long n = newest.get(key);
      if (n != null && t - n >= 30 * 86_400_000L) {
        states.remove(key);
        resets++;
      }
      EntityEngine.Result r = forever.apply(states.get(key), e);
      states.put(key, r.newState());
      newest.put(key, t);
      expected.add(r.values());
    }
    assertThat(resets).isPositive();
    Result kept = run(engine, events, false);
    Result expired = run(engine, events, true);
    assertSameValues(expected, kept.values());
    assertSameValues(expected, expired.values());
    assertThat(expired.dropped()).isPositive();
  }

  @Test
  void anIdleTtlShorterThanTheWindowsBoundsThemAndIsTheTtl() throws Exception {
    EntityEngine engine = idle("2h", WINDOWED).engines().get(0);
    assertThat(engine.stateTtlMillis()).hasValue(2 * 3_600_000L);
    List<Transaction> events = RandomStreams.generate(7, 3000, 20, 10);
    assertSameValues(run(engine, events, false).values(), run(engine, events, true).values());
  }

  @Test
  void anIdleTtlIsInTheFingerprintAndTheExplanationOnlyWhenSet() throws Exception {
    FeatureSpec plain = TestSpecs.spec(LIFETIME).spec();
    FeatureSpec explicitNone = TestSpecs.spec("{card: {key: card_id}, merchant: merchant_id}",
        LIFETIME).spec();
    FeatureSpec withIdle = idle("400d", LIFETIME).spec();
    assertThat(explicitNone.fingerprint()).isEqualTo(plain.fingerprint());
    assertThat(withIdle.fingerprint()).isNotEqualTo(plain.fingerprint());
    assertThat(withIdle.timingOf("card").describe()).isEqualTo("event_time, idle_ttl 400d");
    assertThat(withIdle.timingOf("merchant").idleTtlMillis()).isZero();
  }

  @Test
  void aBadIdleTtlIsRefusedNamingTheEntityAndTheKey() {
    assertThatThrownBy(() -> idle("soon", LIFETIME))
        .isInstanceOf(SpecException.class)
        .hasMessageContaining("entity 'card': key 'idle_ttl': 'soon' is not a duration");
  }
}
