package dev.vigil.transforms.io;

import java.nio.charset.StandardCharsets;

/**
 * The partition a keyed Kafka producer writes a record to: murmur2 of the key's UTF-8 bytes, made
 * positive, modulo the partition count, as Kafka's default partitioner does for a non-null key. So
 * that {@code vigil run --partitions N} splits a file exactly as a producer keyed by the same field
 * splits a topic.
 */
public final class KeyPartitioner {
  private KeyPartitioner() {}

  /** The partition of {@code key} among {@code partitions} (null or empty key: 0). */
  public static int partition(String key, int partitions) {
    if (key == null || key.isEmpty()) {
      return 0;
    }
    return (murmur2(key.getBytes(StandardCharsets.UTF_8)) & 0x7fffffff) % partitions;
  }

  /** Kafka's murmur2 (seed 0x9747b28c). */
  static int murmur2(byte[] data) {
    int length = data.length;
    final int m = 0x5bd1e995;
    final int r = 24;
    int h = 0x9747b28c ^ length;
    int length4 = length / 4;
    for (int i = 0; i < length4; i++) {
      int i4 = i * 4;
      int k = (data[i4] & 0xff) + ((data[i4 + 1] & 0xff) << 8) + ((data[i4 + 2] & 0xff) << 16)
          + ((data[i4 + 3] & 0xff) << 24);
      k *= m;
      k ^= k >>> r;
      k *= m;
      h *= m;
      h ^= k;
    }
    switch (length % 4) {
      case 3:
        h ^= (data[(length & ~3) + 2] & 0xff) << 16;
        // fall through
      case 2:
        h ^= (data[(length & ~3) + 1] & 0xff) << 8;
        // fall through
      case 1:
        h ^= data[length & ~3] & 0xff;
        h *= m;
        break;
      default:
        break;
    }
    h ^= h >>> 13;
    h *= m;
    h ^= h >>> 15;
    return h;
  }
}
