package dev.vigil.transforms.flink;

import dev.vigil.transforms.engine.EntityEngine;
import org.apache.flink.api.java.functions.KeySelector;

/** Keys an event by its entity key (e.g. card_id); events without one share the "" key. */
public final class EntityKeySelector implements KeySelector<FeatureEvent, String> {
  private static final long serialVersionUID = 1L;
  private final EntityEngine engine;

  public EntityKeySelector(EntityEngine engine) {
    this.engine = engine;
  }

  @Override
  public String getKey(FeatureEvent e) {
    String key = engine.keyOf(e.event);
    return key == null ? "" : key;
  }
}
