package dev.vigil.statetools;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.flink.FeatureStates;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.FeatureEventTypeInfo;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.state.api.functions.KeyedStateBootstrapFunction;
import org.apache.flink.state.api.functions.KeyedStateReaderFunction;
import org.apache.flink.util.Collector;

/**
 * The feature stage's keyed state as the State Processor API writes and reads it: the very
 * descriptors of {@link FeatureStates} (a TTL setting, as the dedupe's, changes the serializer, so
 * a copy could fail to restore), keyed by the entity key as a String like {@code EntityKeySelector}.
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

  /**
   * How a job's waiting events move to a spec with more features: read with the old spec's event
   * type, each value put at its feature's position in the new spec ({@code newToOld[i]}: the old
   * position of the new spec's feature {@code i}, -1 for a feature the old spec lacked: null, the
   * stage computes it when the event is released).
   */
  record Waiting(FeatureEventTypeInfo oldType, FeatureEventTypeInfo newType, int[] newToOld)
      implements java.io.Serializable {}

  static byte[] serialize(TypeSerializer<FeatureEvent> serializer, FeatureEvent e)
      throws java.io.IOException {
    DataOutputSerializer out = new DataOutputSerializer(256);
    serializer.serialize(e, out);
    return out.getCopyOfBuffer();
  }

  /** Writes one key's feature value and dedupe ids into the stage's state. */
  static final class Writer extends KeyedStateBootstrapFunction<String, KeyedValue> {
    private static final long serialVersionUID = 1L;
    private final EntityEngine engine;
    private final long dedupeHorizonMillis;
    private final Waiting waiting;
    private transient ValueState<byte[]> features;
    private transient MapState<String, Long> seen;
    private transient org.apache.flink.api.common.state.ListState<byte[]> handedOver;
    private transient ListState<FeatureEvent> waitingReads;
    private transient ListState<FeatureEvent> waitingUpdates;
    private transient TypeSerializer<FeatureEvent> oldSerializer;

    /** @param dedupeHorizonMillis the stage's dedupe horizon; 0: no dedupe state */
    Writer(EntityEngine engine, long dedupeHorizonMillis) {
      this(engine, dedupeHorizonMillis, null);
    }

    /** @param waiting how to carry a job's waiting events (null: there are none) */
    Writer(EntityEngine engine, long dedupeHorizonMillis, Waiting waiting) {
      this.engine = engine;
      this.dedupeHorizonMillis = dedupeHorizonMillis;
      this.waiting = waiting;
    }

    @Override
    public void open(OpenContext context) {
      features = getRuntimeContext().getState(FeatureStates.features(engine));
      if (dedupeHorizonMillis > 0) {
        seen = getRuntimeContext().getMapState(
            FeatureStates.dedupe(Duration.ofMillis(dedupeHorizonMillis)));
      }
      handedOver = getRuntimeContext().getListState(FeatureStates.handedOver());
      if (waiting != null) {
        waitingReads = getRuntimeContext().getListState(
            new ListStateDescriptor<>(FeatureStates.WAITING_READS, waiting.newType()));
        waitingUpdates = getRuntimeContext().getListState(
            new ListStateDescriptor<>(FeatureStates.WAITING_UPDATES, waiting.newType()));
        oldSerializer = waiting.oldType().createSerializer(new SerializerConfigImpl());
      }
    }

    private List<FeatureEvent> moved(byte[][] items) throws java.io.IOException {
      List<FeatureEvent> out = new ArrayList<>();
      for (byte[] b : items) {
        FeatureEvent e = oldSerializer.deserialize(new DataInputDeserializer(b));
        Object[] values = new Object[waiting.newType().featureCount()];
        for (int i = 0; i < values.length; i++) {
          int from = waiting.newToOld()[i];
          values[i] = from >= 0 && from < e.values.length ? e.values[from] : null;
        }
        e.values = values;
        out.add(e);
      }
      return out;
    }

    @Override
    public void processElement(KeyedValue v, Context ctx) throws Exception {
      if (v.state != null) {
        features.update(v.state);
      }
      if (waiting != null && v.waitingReads != null && v.waitingReads.length > 0) {
        waitingReads.update(moved(v.waitingReads));
      }
      if (waiting != null && v.waitingUpdates != null && v.waitingUpdates.length > 0) {
        waitingUpdates.update(moved(v.waitingUpdates));
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
    /** The job's event type, to read an event-time stage's waiting events; null: not read. */
    private final FeatureEventTypeInfo waitingType;
    private transient ValueState<byte[]> features;
    private transient MapState<String, Long> seen;
    private transient ListState<FeatureEvent> waitingReads;
    private transient ListState<FeatureEvent> waitingUpdates;
    private transient ListState<byte[]> handedOver;
    private transient TypeSerializer<FeatureEvent> serializer;

    Reader(EntityEngine engine, long dedupeHorizonMillis, String onlyKey) {
      this(engine, dedupeHorizonMillis, onlyKey, null);
    }

    Reader(EntityEngine engine, long dedupeHorizonMillis, String onlyKey,
        FeatureEventTypeInfo waitingType) {
      this.engine = engine;
      this.dedupeHorizonMillis = dedupeHorizonMillis;
      this.onlyKey = onlyKey;
      this.waitingType = waitingType;
    }

    @Override
    public void open(OpenContext context) {
      features = getRuntimeContext().getState(FeatureStates.features(engine));
      if (dedupeHorizonMillis > 0) {
        seen = getRuntimeContext().getMapState(
            FeatureStates.dedupe(Duration.ofMillis(dedupeHorizonMillis)));
      }
      if (waitingType != null) {
        waitingReads = getRuntimeContext().getListState(
            new ListStateDescriptor<>(FeatureStates.WAITING_READS, waitingType));
        waitingUpdates = getRuntimeContext().getListState(
            new ListStateDescriptor<>(FeatureStates.WAITING_UPDATES, waitingType));
        handedOver = getRuntimeContext().getListState(FeatureStates.handedOver());
        serializer = waitingType.createSerializer(new SerializerConfigImpl());
      }
    }

    private byte[][] serialized(Iterable<FeatureEvent> events) throws java.io.IOException {
      List<byte[]> out = new ArrayList<>();
      if (events != null) {
        for (FeatureEvent e : events) {
          out.add(serialize(serializer, e));
        }
      }
      return out.toArray(new byte[0][]);
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
      KeyedValue v = new KeyedValue(key, features.value(), ids.toArray(new String[0]),
          times.stream().mapToLong(Long::longValue).toArray());
      if (waitingType != null) {
        v.waitingReads = serialized(waitingReads.get());
        v.waitingUpdates = serialized(waitingUpdates.get());
        List<byte[]> h = new ArrayList<>();
        Iterable<byte[]> handed = handedOver.get();
        if (handed != null) {
          handed.forEach(h::add);
        }
        v.handedOver = h.toArray(new byte[0][]);
      }
      out.collect(v);
    }
  }
}
