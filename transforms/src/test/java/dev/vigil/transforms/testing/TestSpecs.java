package dev.vigil.transforms.testing;

import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.FeatureSpec;

/** Feature specs for tests, over the bundled Transaction schema. */
public final class TestSpecs {
  private TestSpecs() {}

  /** A spec with entities card and merchant and the given YAML feature list. */
  public static CompiledSpec spec(String features) throws Exception {
    String yaml = "source: {subject: payments.transactions-value, event_time: event_time}\n"
        + "entities: {card: card_id, merchant: merchant_id}\nfeatures:\n" + features;
    FeatureSpec spec = FeatureSpec.parse(yaml, "test", null);
    return CompiledSpec.compile(spec, CompiledSpec.sourceSchema(spec, "test"), "test");
  }

  /** A spec with the given YAML {@code entities:} mapping and feature list. */
  public static CompiledSpec spec(String entities, String features) throws Exception {
    String yaml = "source: {subject: payments.transactions-value, event_time: event_time}\n"
        + "entities: " + entities + "\nfeatures:\n" + features;
    FeatureSpec spec = FeatureSpec.parse(yaml, "test", null);
    return CompiledSpec.compile(spec, CompiledSpec.sourceSchema(spec, "test"), "test");
  }

  /** Every aggregation, windows from 90 s to 365 d, lifetime, two entities. */
  public static final String ALL_FEATURES =
      "  - {name: c90s, entity: card, aggregation: count, window: 90s}\n"
          + "  - {name: c1h, entity: card, aggregation: count, window: 1h}\n"
          + "  - {name: c365d, entity: card, aggregation: count, window: 365d}\n"
          + "  - {name: s30d, entity: card, aggregation: sum, field: amount_cents, window: 30d}\n"
          + "  - {name: s_life, entity: card, aggregation: sum, field: amount_cents}\n"
          + "  - {name: mean24h, entity: card, aggregation: mean, field: amount_cents, window: 24h}\n"
          + "  - {name: min7d, entity: card, aggregation: min, field: amount_cents, window: 7d}\n"
          + "  - {name: max24h, entity: card, aggregation: max, field: amount_cents, window: 24h, resolution: 1h}\n"
          + "  - {name: max30m, entity: card, aggregation: max, field: amount_cents, window: 30m, resolution: 1m}\n"
          + "  - {name: dm7d, entity: card, aggregation: distinct_count, field: merchant_id, window: 7d}\n"
          + "  - {name: dcountry, entity: card, aggregation: distinct_count, field: country}\n"
          + "  - {name: ddev2h, entity: card, aggregation: distinct_count, field: device_id, window: 2h, resolution: 10m}\n"
          + "  - {name: last_m, entity: card, aggregation: last, field: merchant_id}\n"
          + "  - {name: last_dev_1h, entity: card, aggregation: last, field: device_id, window: 1h}\n"
          + "  - {name: last_ch, entity: card, aggregation: last, field: channel}\n"
          + "  - {name: tsl, entity: card, aggregation: time_since_last}\n"
          + "  - {name: tsl_1d, entity: card, aggregation: time_since_last, window: 1d}\n"
          + "  - {name: tsf, entity: card, aggregation: time_since_first}\n"
          + "  - {name: tsf_7d, entity: card, aggregation: time_since_first, window: 7d}\n"
          + "  - {name: m_c1h, entity: merchant, aggregation: count, window: 1h}\n"
          + "  - {name: m_sum5m, entity: merchant, aggregation: sum, field: amount_cents, window: 5m, resolution: 1m}\n";

}
