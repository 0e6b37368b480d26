package dev.vigil.statetools;

import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;

/**
 * One key's state on its way into or out of a savepoint: the feature value and the dedupe ids
 * (transaction id → event time). A checked POJO (public fields, no-arg constructor): no Kryo.
 */
public final class KeyedValue {
  public static final TypeInformation<KeyedValue> TYPE = Types.POJO(KeyedValue.class);

  public String key;
  /** The feature state ({@code FeatureStates.features}); null when the key has none. */
  public byte[] state;
  public String[] ids;
  public long[] times;
  /** Events handed over to an event-time stage ({@code HandedOverEvents}); null or empty: none. */
  public byte[][] handedOver;
  /**
   * An event-time stage's waiting events of a job's savepoint ({@code FeatureStates.WAITING_READS}
   * and {@code WAITING_UPDATES}), each serialized by the {@code FeatureEventSerializer} of the spec
   * the job ran; null or empty: none.
   */
  public byte[][] waitingReads;
  public byte[][] waitingUpdates;

  public KeyedValue() {}

  public KeyedValue(String key, byte[] state, String[] ids, long[] times) {
    this.key = key;
    this.state = state;
    this.ids = ids;
    this.times = times;
  }
}
