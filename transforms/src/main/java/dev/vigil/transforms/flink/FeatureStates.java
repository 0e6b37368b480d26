package dev.vigil.transforms.flink;

import dev.vigil.transforms.engine.EntityEngine;
import java.time.Duration;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.StateTtlConfig;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeutils.base.LongSerializer;
import org.apache.flink.api.common.typeutils.base.StringSerializer;
import org.apache.flink.api.common.typeutils.base.array.BytePrimitiveArraySerializer;

/**
 * The state descriptors of the feature stages: the one place their names, serializers and TTL are
 * defined. The scoring job, the savepoint tools and the tests all use these, never copies.
 */
public final class FeatureStates {
  private FeatureStates() {}

  /** The name of the per-key feature state in every feature stage. */
  public static final String FEATURES = "features";

  /**
   * The names of the per-key lists of an event-time stage's waiting events (written at checkpoint
   * barriers, read back on restore): those not yet read, and those not yet applied.
   */
  public static final String WAITING_READS = "waiting-reads";

  public static final String WAITING_UPDATES = "waiting-updates";

  /**
   * The name of every feature stage's operator (union list) state that holds the description of
   * the spec its state was written under ({@link StageSpec}), checked on restore.
   */
  public static final String SPEC = "vigil-spec";

  /**
   * The name of the per-key list of events a savepoint tool hands over to an event-time stage
   * ({@link HandedOverEvents}): read once on restore, then waiting like any other update.
   */
  public static final String HANDED_OVER = "handed-over";

  /** {@link #HANDED_OVER}: each element one event with its writer schema. */
  public static ListStateDescriptor<byte[]> handedOver() {
    return new ListStateDescriptor<>(HANDED_OVER, BytePrimitiveArraySerializer.INSTANCE);
  }

  /** The name of the per-key dedupe state (transaction ids seen) in every feature stage. */
  public static final String DEDUPE = "dedupe";

  /**
   * One {@code byte[]} per key: every feature of the entity (see {@link EntityEngine}). No Flink
   * TTL: that runs on processing time, so an outage longer than it would empty the state of keys
   * whose next events are still in the topic. The stage drops an idle key's state in event time
   * instead, once the watermark has passed its newest event plus {@link
   * EntityEngine#stateTtlMillis} (and the entity's {@code as_of} lag), with one timer per key
   * ({@link FeatureStage}); an entity with a lifetime feature and no {@code idle_ttl} keeps every
   * key.
   */
  public static ValueStateDescriptor<byte[]> features(EntityEngine engine) {
    return new ValueStateDescriptor<>(FEATURES, BytePrimitiveArraySerializer.INSTANCE);
  }

  /**
   * The transaction ids a stage's key has seen, with their event times: a map per key so that a
   * busy merchant costs one lookup and one insert per event, not a rewrite of every id. Entries
   * expire {@code horizon} after they were written (processing time: producer retries come within
   * minutes of the original, whatever its event time).
   */
  public static MapStateDescriptor<String, Long> dedupe(Duration horizon) {
    MapStateDescriptor<String, Long> d =
        new MapStateDescriptor<>(DEDUPE, StringSerializer.INSTANCE, LongSerializer.INSTANCE);
    d.enableTimeToLive(
        StateTtlConfig.newBuilder(horizon)
            .updateTtlOnCreateAndWrite()
            .neverReturnExpired()
            .cleanupFullSnapshot()
            .cleanupInRocksdbCompactFilter(1000)
            .build());
    return d;
  }
}
