package dev.vigil.statetools;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.avro.Transaction;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.testing.RandomStreams;
import dev.vigil.transforms.testing.TestSpecs;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** {@link EntityEngine#carryOver}, the engine side of {@code state add-feature}, without Flink. */
class CarryOverTest {
  static Map<String, byte[]> replay(EntityEngine engine, List<Transaction> events) {
    Map<String, byte[]> states = new HashMap<>();
    for (Transaction e : events) {
      String key = engine.keyOf(e);
      EntityEngine.Result r = engine.apply(states.get(key), e);
      if (!r.late()) {
        states.put(key, r.newState());
      }
    }
    return states;
  }

  @Test
  void splicingTheOldFeaturesIntoAFreshStateGivesTheFullReplayOfTheNewSpec() throws Exception {
    CompiledSpec old = TestSpecs.spec(
        "  - {name: c1h, entity: card, aggregation: count, window: 1h}\n"
            + "  - {name: last_m, entity: card, aggregation: last, field: merchant_id}\n"
            + "  - {name: tsf, entity: card, aggregation: time_since_first}\n");
    CompiledSpec next = TestSpecs.spec(
        "  - {name: max30m, entity: card, aggregation: max, field: amount_cents, window: 30m, resolution: 1m}\n"
            + "  - {name: c1h, entity: card, aggregation: count, window: 1h}\n"
            + "  - {name: last_m, entity: card, aggregation: last, field: merchant_id}\n"
            + "  - {name: last_dev, entity: card, aggregation: last, field: device_id}\n"
            + "  - {name: tsf, entity: card, aggregation: time_since_first}\n"
            + "  - {name: dm7d, entity: card, aggregation: distinct_count, field: merchant_id, window: 7d}\n");
    EntityEngine before = EntityEngine.forEntity(old, "card");
    EntityEngine after = EntityEngine.forEntity(next, "card");
    List<Transaction> events = RandomStreams.generate(41, 5000, 30, 5);
    Map<String, byte[]> oldStates = replay(before, events);
    Map<String, byte[]> full = replay(after, events);
    for (String key : oldStates.keySet()) {
      byte[] spliced = after.carryOver(before, oldStates.get(key), full.get(key));
      assertThat(spliced).as(key).isEqualTo(full.get(key));
      for (String f : before.featureNames()) {
        assertThat(after.featureBytes(spliced, f)).isEqualTo(before.featureBytes(oldStates.get(key), f));
      }
      // Without history for the key, the new features start empty and the old ones are intact.
      byte[] empty = after.carryOver(before, oldStates.get(key), null);
      assertThat(after.describe(empty).tileCount("dm7d")).isZero();
      assertThat(after.featureBytes(empty, "c1h")).isEqualTo(before.featureBytes(oldStates.get(key), "c1h"));
    }
  }

  @Test
  void refusesAChangedFeatureAndStatesAtDifferentPointsOfTheHistory() throws Exception {
    CompiledSpec old = TestSpecs.spec("  - {name: c1h, entity: card, aggregation: count, window: 1h}\n");
    CompiledSpec changed = TestSpecs.spec("  - {name: c1h, entity: card, aggregation: count, window: 2h}\n"
        + "  - {name: c1d, entity: card, aggregation: count, window: 1d}\n");
    assertThatThrownBy(() -> EntityEngine.forEntity(changed, "card")
        .carryOver(EntityEngine.forEntity(old, "card"), null, null))
        .hasMessageContaining("feature 'c1h' changed");
    CompiledSpec next = TestSpecs.spec("  - {name: c1h, entity: card, aggregation: count, window: 1h}\n"
        + "  - {name: c1d, entity: card, aggregation: count, window: 1d}\n");
    EntityEngine before = EntityEngine.forEntity(old, "card");
    EntityEngine after = EntityEngine.forEntity(next, "card");
    List<Transaction> events = RandomStreams.generate(42, 400, 1, 2);
    byte[] oldState = replay(before, events).get("c0");
    byte[] shorter = replay(after, events.subList(0, 300)).get("c0");
    assertThatThrownBy(() -> after.carryOver(before, oldState, shorter))
        .hasMessageContaining("not at the same point");
  }
}
