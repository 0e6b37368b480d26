package dev.vigil.jobs;

import java.util.Arrays;

/**
 * One Kafka record as consumed: where it came from and its bytes, untouched. A Flink POJO (public
 * fields, no-arg constructor), so it is serialized without Kryo.
 */
public class RawRecord {
  public String topic;
  public int partition;
  public long offset;
  /** The record's Kafka timestamp, epoch millis. */
  public long timestamp;
  /** The record's key, or null. */
  public byte[] key;
  /** The record's value exactly as consumed, or null (a tombstone). */
  public byte[] value;
  /** The record's header names in order, null when it has none (with {@link #headerValues}). */
  public String[] headerKeys;
  /** The record's header values, each possibly null, in the order of {@link #headerKeys}. */
  public byte[][] headerValues;
  /**
   * What the source's deserializer made of the record (a decoded event or its dead letter), handed
   * to the decode operator chained behind it; not serialized (transient), so a record that crosses
   * a process boundary is decoded again.
   */
  public transient Object decoded;

  public RawRecord() {}

  public RawRecord(String topic, int partition, long offset, long timestamp, byte[] key,
      byte[] value) {
    this.topic = topic;
    this.partition = partition;
    this.offset = offset;
    this.timestamp = timestamp;
    this.key = key;
    this.value = value;
  }

  /**
   * A number unique per record of one topic, increasing with the offset within a partition:
   * {@code partition << 48 | offset} (partitions below 2^15, offsets below 2^48).
   */
  public long seq() {
    return Seq.of(partition, offset);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof RawRecord r && partition == r.partition && offset == r.offset
        && timestamp == r.timestamp && java.util.Objects.equals(topic, r.topic)
        && Arrays.equals(key, r.key) && Arrays.equals(value, r.value)
        && Arrays.equals(headerKeys, r.headerKeys) && Arrays.deepEquals(headerValues, r.headerValues);
  }

  @Override
  public int hashCode() {
    return Long.hashCode(seq());
  }

  @Override
  public String toString() {
    return "RawRecord[" + topic + "-" + partition + "@" + offset + ", "
        + (value == null ? "null" : value.length + " bytes") + "]";
  }
}
