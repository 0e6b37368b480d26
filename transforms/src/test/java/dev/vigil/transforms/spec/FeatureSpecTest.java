package dev.vigil.transforms.spec;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.transforms.testing.TestSpecs;
import java.nio.file.Paths;
import org.junit.jupiter.api.Test;

class FeatureSpecTest {
  static final String HEAD = "source: {subject: payments.transactions-value, event_time: event_time}\n"
      + "entities: {card: card_id, merchant: merchant_id}\nfeatures:\n";

  static SpecException error(String features) {
    try {
      TestSpecs.spec(features);
    } catch (SpecException e) {
      return e;
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("spec was accepted: " + features);
  }

  @Test
  void theIssuesExampleSpecLoadsAsWritten() throws Exception {
    CompiledSpec spec = CompiledSpec.load(Paths.get("..", "examples", "features.yaml"));
    assertThat(spec.spec().featureNames()).containsExactly("card_txn_count_365d",
        "card_amount_sum_30d", "card_amount_max_24h", "card_distinct_merchants_7d",
        "card_ms_since_last", "card_ms_since_first", "merchant_txn_count_1h");
    FeatureDef max = spec.spec().features().get(2);
    assertThat(max.windowMillis()).isEqualTo(86_400_000L);
    assertThat(max.resolutionMillis()).isEqualTo(3_600_000L);
    assertThat(spec.spec().features().get(0).resolutionMillis()).isEqualTo(86_400_000L);
    assertThat(spec.spec().features().get(3).resolutionMillis()).isEqualTo(3_600_000L);
    assertThat(spec.spec().features().get(6).resolutionMillis()).isEqualTo(300_000L);
    assertThat(spec.spec().features().get(4).lifetime()).isTrue();
  }

  @Test
  void durationsAndDefaultResolutions() {
    assertThat(Durations.parseMillis("90s")).isEqualTo(90_000L);
    assertThat(Durations.parseMillis("30m")).isEqualTo(1_800_000L);
    assertThat(Durations.parseMillis("24h")).isEqualTo(86_400_000L);
    assertThat(Durations.parseMillis("365d")).isEqualTo(365 * 86_400_000L);
    assertThat(Durations.defaultResolution(Durations.parseMillis("12d"))).isEqualTo(86_400_000L);
    assertThat(Durations.defaultResolution(Durations.parseMillis("11d"))).isEqualTo(3_600_000L);
    assertThat(Durations.defaultResolution(Durations.parseMillis("12h"))).isEqualTo(3_600_000L);
    assertThat(Durations.defaultResolution(Durations.parseMillis("11h"))).isEqualTo(300_000L);
    assertThatThrownBy(() -> Durations.parseMillis("3 weeks")).hasMessageContaining("90s, 30m");
  }

  @Test
  void anUnknownAggregationNamesTheFeatureTheKeyAndWhatIsAllowed() {
    SpecException e = error("  - {name: f, entity: card, aggregation: summ, field: amount_cents}\n");
    assertThat(e.getMessage()).contains("feature 'f'", "key 'aggregation'", "'summ'",
        "count, sum, mean, min, max, distinct_count, last, time_since_last, time_since_first");
  }

  @Test
  void everyProblemIsReportedAtOnce() {
    SpecException e = error(
        "  - {name: a, entity: cardd, aggregation: count, window: 3 weeks}\n"
            + "  - {name: a, entity: card, aggregation: sum}\n"
            + "  - {name: b, entity: card, aggregation: count, colour: red}\n");
    assertThat(e.problems()).hasSize(5);
    assertThat(e.getMessage()).contains("key 'entity': 'cardd' is not one of card, merchant")
        .contains("key 'window'").contains("same name").contains("key 'field': required for sum")
        .contains("unknown key 'colour'");
  }

  @Test
  void aFieldTheStreamDoesNotCarryIsRefusedWhenDefined() {
    SpecException e = error("  - {name: f, entity: card, aggregation: sum, field: risk_score}\n");
    assertThat(e.getMessage()).contains("feature 'f'", "no field 'risk_score'",
        "not available at inference time", "amount_cents");
  }

  @Test
  void aFieldOfTheWrongTypeIsRefused() {
    SpecException e = error("  - {name: f, entity: card, aggregation: mean, field: currency}\n");
    assertThat(e.getMessage()).contains("feature 'f'", "mean needs a numeric field", "string");
  }

  @Test
  void aResolutionLongerThanTheWindowIsRefused() {
    SpecException e = error("  - {name: f, entity: card, aggregation: count, window: 1h, resolution: 2h}\n");
    assertThat(e.getMessage()).contains("key 'resolution'", "longer than the window");
  }

  @Test
  void malformedYamlSaysWhere() {
    assertThatThrownBy(() -> FeatureSpec.parse(HEAD + "  - {name: f, entity: card\n", "s.yaml", null))
        .isInstanceOf(SpecException.class).hasMessageContaining("s.yaml").hasMessageContaining("line");
  }
}
