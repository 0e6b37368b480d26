package dev.vigil.statetools;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.flink.FeatureStates;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.state.api.functions.KeyedStateBootstrapFunction;
import org.apache.flink.state.api.functions.KeyedStateReaderFunction;
import org.apache.flink.util.Collector;

/**
 * The feature stage's keyed state as the State Processor API writes and reads it: the very
 * descriptors of {@link FeatureStates} (their TTL settings change the serializers, so a copy would
 * not restore), keyed by the entity key as a String like {@code EntityKeySelector}.
 */
final class FeatureStateFunctions {
  private FeatureStateFunctions() {}

  static final class ByKey implements KeySelector<KeyedValue, String> {
    private static final long serialVersionUID = 1L;

    @Override
    public String getKey(KeyedValue v) {
      return v.key;
    }
  }

  /** Writes one key's feature value and dedupe ids into the stage's state. */
  static final class Writer extends KeyedStateBootstrapFunction<String, KeyedValue> {
    private static final long serialVersionUID = 1L;
    private final EntityEngine engine;
    private final long dedupeHorizonMillis;
    private transient ValueState<byte[]> features;
    private transient MapState<String, Long> seen;
    private transient org.apache.flink.api.common.state.ListState<byte[]> handedOver;

    /** @param dedupeHorizonMillis the stage's dedupe horizon; 0: no dedupe state */
    Writer(EntityEngine engine, long dedupeHorizonMillis) {
      this.engine = engine;
      this.dedupeHorizonMillis = dedupeHorizonMillis;
    }

    @Override
    public void open(OpenContext context) {
      features = getRuntimeContext().getState(FeatureStates.features(engine));
      if (dedupeHorizonMillis > 0) {
        seen = getRuntimeContext().getMapState(
            FeatureStates.dedupe(Duration.ofMillis(dedupeHorizonMillis)));
      }
      handedOver = getRuntimeContext().getListState(FeatureStates.handedOver());
    }

    @Override
    public void processElement(KeyedValue v, Context ctx) throws Exception {
      if (v.state != null) {
        features.update(v.state);
      }
      if (v.handedOver != null && v.handedOver.length > 0) {
        handedOver.update(java.util.Arrays.asList(v.handedOver));
      }
      if (seen != null && v.ids != null) {
        for (int i = 0; i < v.ids.length; i++) {
          seen.put(v.ids[i], v.times[i]);
        }
      }
    }
  }

  /** Reads every key's feature value (and dedupe ids), optionally only one key. */
  static final class Reader extends KeyedStateReaderFunction<String, KeyedValue> {
    private static final long serialVersionUID = 1L;
    private final EntityEngine engine;
    private final long dedupeHorizonMillis;
    private final String onlyKey;
    private transient ValueState<byte[]> features;
    private transient MapState<String, Long> seen;

    Reader(EntityEngine engine, long dedupeHorizonMillis, String onlyKey) {
      this.engine = engine;
      this.dedupeHorizonMillis = dedupeHorizonMillis;
      this.onlyKey = onlyKey;
    }

    @Override
    public void open(OpenContext context) {
      features = getRuntimeContext().getState(FeatureStates.features(engine));
      if (dedupeHorizonMillis > 0) {
        seen = getRuntimeContext().getMapState(
            FeatureStates.dedupe(Duration.ofMillis(dedupeHorizonMillis)));
      }
    }

    @Override
    public void readKey(String key, Context ctx, Collector<KeyedValue> out) throws Exception {
      if (onlyKey != null && !onlyKey.equals(key)) {
        return;
      }
      List<String> ids = new ArrayList<>();
      List<Long> times = new ArrayList<>();
      if (seen != null) {
        for (Map.Entry<String, Long> e : seen.entries()) {
          ids.add(e.getKey());
          times.add(e.getValue());
        }
      }
      out.collect(new KeyedValue(key, features.value(), ids.toArray(new String[0]),
          times.stream().mapToLong(Long::longValue).toArray()));
    }
  }
}
