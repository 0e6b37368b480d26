package dev.vigil.transforms.flink;

import java.util.Arrays;
import org.apache.avro.generic.IndexedRecord;

/**
 * An event on its way through the feature stages: the source record, its position in the input,
 * and the feature values computed so far (spec order; an entity's slots are filled by its stage).
 * Serialized by {@link FeatureEventSerializer}, never by Kryo.
 */
public final class FeatureEvent {
  /** The source record (e.g. a {@code Transaction}). */
  public IndexedRecord event;
  /** Position in the input (file line, or Kafka offset order), for stable output order. */
  public long seq;
  /** One per spec feature, in spec order. */
  public Object[] values;
  /** True when the event was late for at least one entity (its values there are null). */
  public boolean late;
  /**
   * True when a stage had already seen the event's transaction id within the dedupe horizon: a
   * producer retry. Its features are not counted again and its values are null; never scored.
   */
  public boolean duplicate;

  public FeatureEvent() {}

  public FeatureEvent(IndexedRecord event, long seq, int featureCount) {
    this.event = event;
    this.seq = seq;
    this.values = new Object[featureCount];
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FeatureEvent e
        && seq == e.seq && late == e.late && duplicate == e.duplicate
        && java.util.Objects.equals(event, e.event)
        && Arrays.equals(values, e.values);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(seq);
  }

  @Override
  public String toString() {
    return "FeatureEvent[" + seq + ", " + event + ", " + Arrays.toString(values) + (late ? ", late" : "")
        + (duplicate ? ", duplicate" : "") + "]";
  }
}
