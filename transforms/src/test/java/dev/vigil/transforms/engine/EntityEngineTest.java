package dev.vigil.transforms.engine;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.testing.BruteForceFeatures;
import dev.vigil.transforms.testing.RandomStreams;
import dev.vigil.transforms.testing.TestSpecs;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EntityEngineTest {
  static final long T0 = Instant.parse("2026-03-01T00:00:00Z").toEpochMilli();
  static final long MIN = 60_000L;
  static final long HOUR = 3_600_000L;
  static final long DAY = 86_400_000L;

  static CompiledSpec spec(String features) throws Exception {
    return TestSpecs.spec(features);
  }

  static Transaction tx(String id, String card, long t, long amount, String merchant) {
    return Transaction.newBuilder().setTransactionId(id).setCardId(card).setMerchantId(merchant)
        .setAmountCents(amount).setCurrency("EUR").setEventTime(Instant.ofEpochMilli(t))
        .setChannel(Channel.POS).setDeviceId(null).setCountry(null).build();
  }

  /** Runs events through the card engine and returns each event's values. */
  static List<Object[]> run(EntityEngine engine, Transaction... events) {
    Map<String, byte[]> states = new HashMap<>();
    List<Object[]> out = new ArrayList<>();
    for (Transaction e : events) {
      String key = engine.keyOf(e);
      EntityEngine.Result r = engine.apply(states.get(key), e);
      if (!r.late()) {
        states.put(key, r.newState());
      }
      out.add(r.values());
    }
    return out;
  }

  @Test
  void countsOnlyEventsStrictlyBeforeTheScoredOne() throws Exception {
    EntityEngine e = spec("  - {name: n, entity: card, aggregation: count, window: 1h}\n")
        .engines().get(0);
    List<Object[]> v = run(e, tx("a", "c", T0, 1, "m"), tx("b", "c", T0 + 1, 1, "m"),
        tx("c", "c", T0 + 2, 1, "m"));
    assertThat(v).extracting(x -> x[0]).containsExactly(0L, 1L, 2L);
  }

  @Test
  void sameMillisecondEventsDoNotSeeEachOther() throws Exception {
    EntityEngine e = spec("  - {name: n, entity: card, aggregation: count, window: 1h}\n"
        + "  - {name: s, entity: card, aggregation: sum, field: amount_cents, window: 1h}\n"
        + "  - {name: last, entity: card, aggregation: last, field: amount_cents}\n")
        .engines().get(0);
    List<Object[]> v = run(e, tx("a", "c", T0, 10, "m"), tx("b", "c", T0 + 5, 20, "m"),
        tx("c", "c", T0 + 5, 30, "m"), tx("d", "c", T0 + 5, 40, "m"), tx("e", "c", T0 + 6, 50, "m"));
    assertThat(v).extracting(x -> x[0]).containsExactly(0L, 1L, 1L, 1L, 4L);
    assertThat(v).extracting(x -> x[1]).containsExactly(0L, 10L, 10L, 10L, 100L);
    // ties at the same earlier millisecond: the one that arrived last
    assertThat(v.get(4)[2]).isEqualTo(40L);
  }

  @Test
  void theTailIsRoundedDownToTheResolutionAndTheHeadIsExact() throws Exception {
    // window 1h, resolution 5m: an event at t covers [floor_5m(t - 1h), t)
    EntityEngine e = spec("  - {name: n, entity: card, aggregation: count, window: 1h}\n")
        .engines().get(0);
    long start = T0 + 10 * MIN; // a 5-minute boundary
    long t = start + HOUR + 3 * MIN; // floor_5m(t - 1h) = start
    List<Object[]> v = run(e,
        tx("before", "c", start - 1, 1, "m"), // one ms before the window start: out
        tx("at", "c", start, 1, "m"), // exactly at floor_r(t - W): in
        tx("inside", "c", t - 1, 1, "m"), // one ms before t: in
        tx("scored", "c", t, 1, "m"));
    assertThat(v.get(3)[0]).isEqualTo(2L);
  }

  @Test
  void emptyWindowsGiveZeroForCountsAndSumsAndNullOtherwise() throws Exception {
    EntityEngine e = spec(
        "  - {name: n, entity: card, aggregation: count, window: 90s}\n"
            + "  - {name: s, entity: card, aggregation: sum, field: amount_cents, window: 90s}\n"
            + "  - {name: d, entity: card, aggregation: distinct_count, field: merchant_id, window: 90s}\n"
            + "  - {name: mean, entity: card, aggregation: mean, field: amount_cents, window: 90s}\n"
            + "  - {name: mn, entity: card, aggregation: min, field: amount_cents, window: 90s}\n"
            + "  - {name: mx, entity: card, aggregation: max, field: amount_cents, window: 90s}\n"
            + "  - {name: last, entity: card, aggregation: last, field: merchant_id, window: 90s}\n"
            + "  - {name: tsl, entity: card, aggregation: time_since_last, window: 90s}\n"
            + "  - {name: tsf, entity: card, aggregation: time_since_first, window: 90s}\n")
        .engines().get(0);
    List<Object[]> v = run(e, tx("a", "c", T0, 5, "m"), tx("b", "c", T0 + DAY, 7, "m"));
    assertThat(v.get(0)).containsExactly(0L, 0L, 0L, null, null, null, null, null, null);
    assertThat(v.get(1)).containsExactly(0L, 0L, 0L, null, null, null, null, null, null);
  }

  @Test
  void lifetimeFeaturesSeeEverythingBefore() throws Exception {
    EntityEngine e = spec("  - {name: n, entity: card, aggregation: count}\n"
        + "  - {name: first, entity: card, aggregation: time_since_first}\n"
        + "  - {name: last, entity: card, aggregation: time_since_last}\n"
        + "  - {name: d, entity: card, aggregation: distinct_count, field: merchant_id}\n")
        .engines().get(0);
    List<Object[]> v = run(e, tx("a", "c", T0, 5, "m1"), tx("b", "c", T0 + 400 * DAY, 7, "m2"),
        tx("c", "c", T0 + 800 * DAY, 7, "m1"));
    assertThat(v.get(2)).containsExactly(2L, 800 * DAY, 400 * DAY, 2L);
    assertThat(e.stateTtlMillis()).isEmpty();
  }

  @Test
  void tilesOutsideTheWindowAreEvictedSoStateStaysBounded() throws Exception {
    EntityEngine e = spec("  - {name: n, entity: card, aggregation: count, window: 7d}\n")
        .engines().get(0);
    byte[] state = null;
    int maxSize = 0;
    for (int day = 0; day < 1000; day++) {
      for (int k = 0; k < 3; k++) {
        EntityEngine.Result r = e.apply(state, tx("t", "c", T0 + day * DAY + k * HOUR, 1, "m"));
        state = r.newState();
        if (day > 30) {
          maxSize = Math.max(maxSize, state.length);
        }
      }
    }
    // 7 days at 1-hour resolution: at most 169 tiles, whatever the history length
    assertThat(e.tileCount(state, "n")).isLessThanOrEqualTo(7 * 24 + 1);
    assertThat(maxSize).isLessThan(200);
    assertThat(e.stateTtlMillis()).hasValue(7 * DAY + HOUR);
  }

  @Test
  void anEventOlderThanTheLongestWindowIsLateAndChangesNothing() throws Exception {
    EntityEngine e = spec("  - {name: n, entity: card, aggregation: count, window: 1h}\n")
        .engines().get(0);
    EntityEngine.Result first = e.apply(null, tx("a", "c", T0 + DAY, 1, "m"));
    EntityEngine.Result late = e.apply(first.newState(), tx("b", "c", T0, 1, "m"));
    assertThat(late.late()).isTrue();
    assertThat(late.newState()).isSameAs(first.newState());
    EntityEngine.Result ooo = e.apply(first.newState(), tx("c", "c", T0 + DAY - 10 * MIN, 1, "m"));
    assertThat(ooo.late()).isFalse();
    // the out-of-order event still counts for later events
    EntityEngine.Result next = e.apply(ooo.newState(), tx("d", "c", T0 + DAY + MIN, 1, "m"));
    assertThat(next.values()[0]).isEqualTo(2L);
  }

  @Test
  void sumsOfIntegerFieldsAreExactLongs() throws Exception {
    EntityEngine e = spec("  - {name: s, entity: card, aggregation: sum, field: amount_cents}\n")
        .engines().get(0);
    long big = Long.MAX_VALUE / 4 + 1;
    List<Object[]> v = run(e, tx("a", "c", T0, big, "m"), tx("b", "c", T0 + 1, 3, "m"),
        tx("c", "c", T0 + 2, 0, "m"));
    assertThat(v.get(2)[0]).isEqualTo(big + 3);
  }

  @Test
  void valuesAtReadsTheStateAsOfATime() throws Exception {
    EntityEngine e = spec("  - {name: n, entity: card, aggregation: count, window: 1h}\n")
        .engines().get(0);
    EntityEngine.Result r = e.apply(null, tx("a", "c", T0, 1, "m"));
    r = e.apply(r.newState(), tx("b", "c", T0 + MIN, 1, "m"));
    assertThat(e.valuesAt(r.newState(), T0 + MIN)[0]).isEqualTo(1L);
    assertThat(e.valuesAt(r.newState(), T0 + 2 * MIN)[0]).isEqualTo(2L);
    assertThat(e.valuesAt(r.newState(), T0 + 3 * HOUR)[0]).isEqualTo(0L);
  }

  @Test
  void everyAggregationMatchesTheBruteForceReferenceOnRandomStreams() throws Exception {
    CompiledSpec spec = spec(TestSpecs.ALL_FEATURES);
    for (long seed = 1; seed <= 5; seed++) {
      List<Transaction> events = RandomStreams.generate(seed, 3000, 40, 15);
      List<Map<String, Object>> expected = BruteForceFeatures.compute(spec, events);
      List<Map<String, Object>> actual = new ArrayList<>();
      for (int i = 0; i < events.size(); i++) {
        actual.add(new HashMap<>());
      }
      for (EntityEngine engine : spec.engines()) {
        List<Object[]> values = run(engine, events.toArray(new Transaction[0]));
        for (int i = 0; i < events.size(); i++) {
          for (int f = 0; f < engine.featureNames().size(); f++) {
            actual.get(i).put(engine.featureNames().get(f), values.get(i)[f]);
          }
        }
      }
      for (int i = 0; i < events.size(); i++) {
        assertThat(actual.get(i)).as("seed %d event %d (%s)", seed, i, events.get(i))
            .isEqualTo(expected.get(i));
      }
    }
  }

  @Test
  void outOfOrderStreamsMatchTheReferenceForInOrderEventsAndLateEventsCountNowhere()
      throws Exception {
    CompiledSpec spec = spec(TestSpecs.ALL_FEATURES);
    int compared = 0;
    int late = 0;
    int outOfOrder = 0;
    for (long seed = 11; seed <= 14; seed++) {
      List<Transaction> events = RandomStreams.outOfOrder(seed, 3000, 40, 15, 30);
      List<Map<String, Object>> expected = BruteForceFeatures.computeOutOfOrder(spec, events);
      for (EntityEngine engine : spec.engines()) {
        Map<String, byte[]> states = new HashMap<>();
        Map<String, Long> newest = new HashMap<>();
        for (int i = 0; i < events.size(); i++) {
          Transaction e = events.get(i);
          String key = engine.keyOf(e);
          EntityEngine.Result r = engine.apply(states.get(key), e);
          Long max = newest.get(key);
          long t = engine.eventTimeOf(e);
          if (r.late()) {
            late++;
          } else {
            states.put(key, r.newState());
            newest.put(key, max == null ? t : Math.max(max, t));
            if (max != null && t < max) {
              outOfOrder++;
            }
          }
          for (int f = 0; f < engine.featureNames().size(); f++) {
            String name = engine.featureNames().get(f);
            if (expected.get(i).containsKey(name)) {
              compared++;
              assertThat(r.values()[f]).as("seed %d event %d %s (%s)", seed, i, name, e)
                  .isEqualTo(expected.get(i).get(name));
            }
          }
        }
      }
    }
    assertThat(late).as("late events exercised").isGreaterThan(10);
    assertThat(outOfOrder).as("out-of-order events exercised").isGreaterThan(500);
    assertThat(compared).isGreaterThan(100_000);
  }

  @Test
  void anOutOfOrderEventLandsInItsClosedTileAndLaterEventsCountIt() throws Exception {
    EntityEngine e = spec("  - {name: n, entity: card, aggregation: count, window: 1h}\n"
        + "  - {name: mx, entity: card, aggregation: max, field: amount_cents, window: 1h}\n"
        + "  - {name: d, entity: card, aggregation: distinct_count, field: merchant_id, window: 1h}\n")
        .engines().get(0);
    byte[] state = null;
    for (Transaction t : List.of(tx("a", "c", T0, 1, "m1"), tx("b", "c", T0 + 10 * MIN, 2, "m2"),
        tx("c", "c", T0 + 20 * MIN, 3, "m2"))) {
      state = e.apply(state, t).newState();
    }
    EntityEngine.Result ooo = e.apply(state, tx("x", "c", T0 + 5 * MIN, 99, "m3"));
    assertThat(ooo.late()).isFalse();
    EngineState view = e.describe(ooo.newState());
    assertThat(view.tiles().get("n")).extracting(EngineState.Tile::fromMillis)
        .containsExactly(T0, T0 + 5 * MIN, T0 + 10 * MIN);
    assertThat(view.pending()).isEqualTo(1); // the event at 20 min waits for a later time
    Object[] v = e.apply(ooo.newState(), tx("d", "c", T0 + 30 * MIN, 1, "m1")).values();
    assertThat(v).containsExactly(4L, 99L, 3L);
  }

  @Test
  void aDistinctValueSeenAgainMovesToItsNewestTileSoEvictingTheOldOneKeepsIt() throws Exception {
    EntityEngine e = spec(
        "  - {name: d, entity: card, aggregation: distinct_count, field: merchant_id, window: 1h}\n")
        .engines().get(0);
    List<Object[]> v = run(e, tx("a", "c", T0, 1, "m1"), tx("b", "c", T0 + 10 * MIN, 1, "m2"),
        tx("c", "c", T0 + 50 * MIN, 1, "m1"), // m1 again: it leaves the tile of 00:00
        tx("d", "c", T0 + 55 * MIN, 1, "m3"),
        tx("e", "c", T0 + 70 * MIN, 1, "m4"), // window from 00:10: the 00:00 tile is evicted
        tx("f", "c", T0 + 116 * MIN, 1, "m4")); // window from 00:55: m1's tile is out too
    assertThat(v).extracting(x -> x[0]).containsExactly(0L, 1L, 2L, 2L, 3L, 2L);
    byte[] state = null;
    for (Transaction t : List.of(tx("a", "c", T0, 1, "m1"), tx("b", "c", T0 + 10 * MIN, 1, "m2"),
        tx("c", "c", T0 + 50 * MIN, 1, "m1"), tx("d", "c", T0 + 55 * MIN, 1, "m3"))) {
      state = e.apply(state, t).newState();
    }
    // Each value sits in the tile of its latest occurrence (m3 still pending): 00:00 emptied.
    assertThat(e.describe(state).tiles().get("d")).extracting(EngineState.Tile::fromMillis)
        .containsExactly(T0 + 10 * MIN, T0 + 50 * MIN);
  }

  @Test
  void aGapLongerThanTheWindowEmptiesEveryTileAndTheTotals() throws Exception {
    EntityEngine e = spec("  - {name: n, entity: card, aggregation: count, window: 1h}\n"
        + "  - {name: s, entity: card, aggregation: sum, field: amount_cents, window: 1h}\n"
        + "  - {name: mean, entity: card, aggregation: mean, field: amount_cents, window: 1h}\n")
        .engines().get(0);
    byte[] state = null;
    for (int k = 0; k < 50; k++) {
      state = e.apply(state, tx("a" + k, "c", T0 + k * MIN, 10, "m")).newState();
    }
    EntityEngine.Result after = e.apply(state, tx("b", "c", T0 + 3 * HOUR, 7, "m"));
    assertThat(after.values()).containsExactly(0L, 0L, null);
    assertThat(e.describe(after.newState()).tiles().values()).allMatch(List::isEmpty);
    assertThat(e.describe(after.newState()).pending()).isEqualTo(1);
    Object[] next = e.apply(after.newState(), tx("c", "c", T0 + 3 * HOUR + 1, 1, "m")).values();
    assertThat(next).containsExactly(1L, 7L, 7.0);
  }

  @Test
  void theTtlCoversTheLongestWindowPlusItsResolution() throws Exception {
    CompiledSpec spec = spec("  - {name: n, entity: card, aggregation: count, window: 24h, resolution: 1h}\n"
        + "  - {name: m, entity: card, aggregation: max, field: amount_cents, window: 23h, resolution: 3h}\n"
        + "  - {name: x, entity: merchant, aggregation: count, window: 90s}\n");
    assertThat(spec.engines().get(0).stateTtlMillis()).hasValue(26 * HOUR);
    // a window shorter than the default 5-minute resolution gets its own length as resolution
    assertThat(spec.engines().get(1).stateTtlMillis()).hasValue(90_000L + 90_000L);
    assertThat(spec.engines().get(0).lateAfterMillis()).isEqualTo(24 * HOUR);
  }

  @Test
  void describeShowsTheTilesOldestFirst() throws Exception {
    EntityEngine e = spec("  - {name: n, entity: card, aggregation: count, window: 1d}\n"
        + "  - {name: last, entity: card, aggregation: last, field: merchant_id}\n"
        + "  - {name: first, entity: card, aggregation: time_since_first}\n")
        .engines().get(0);
    byte[] state = null;
    for (Transaction t : List.of(tx("a", "c", T0 + 5, 1, "m1"), tx("b", "c", T0 + HOUR + 7, 1, "m2"),
        tx("c", "c", T0 + HOUR + 9, 1, "m3"), tx("d", "c", T0 + 2 * HOUR, 1, "m4"))) {
      state = e.apply(state, t).newState();
    }
    EngineState view = e.describe(state);
    assertThat(view.newestMillis()).isEqualTo(T0 + 2 * HOUR);
    assertThat(view.lastEventMillis()).isEqualTo(T0 + HOUR + 9);
    assertThat(view.lastValues()).containsEntry("last", "m3");
    assertThat(view.tiles().get("n")).containsExactly(
        new EngineState.Tile(T0, 1L), new EngineState.Tile(T0 + HOUR, 2L));
    assertThat(view.tiles().get("first")).containsExactly(
        new EngineState.Tile(Long.MIN_VALUE, Instant.ofEpochMilli(T0 + 5)));
    assertThat(view.bytes()).isEqualTo(state.length);
  }
}
