package dev.vigil.transforms.batch;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.flink.FeatureEvent;
import org.apache.flink.api.common.functions.FilterFunction;

/** Events with a key for the entity: the others get null features for it, and no part. */
final class HasKey implements FilterFunction<FeatureEvent> {
  private static final long serialVersionUID = 1L;
  private final EntityEngine engine;

  HasKey(EntityEngine engine) {
    this.engine = engine;
  }

  @Override
  public boolean filter(FeatureEvent e) {
    return engine.keyOf(e.event) != null;
  }
}
