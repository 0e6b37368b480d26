package dev.vigil.jobs;

import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Score;
import dev.vigil.avro.ShadowScore;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.SchemaNormalization;

/**
 * Hand-written Avro binary encoders for the job's hot outputs, {@link Score} and {@link
 * FeatureVector}: byte for byte what {@code SpecificDatumWriter} writes for the same record, without
 * its per-datum schema walk, union resolution and class lookups. Map keys (the few feature and
 * entity names) are encoded to UTF-8 once and cached.
 *
 * <p>Each encoder is bound to the exact shape of its record's schema ({@link #SCORE_SHAPE}, {@link
 * #FEATURE_VECTOR_SHAPE}: the parsing-canonical-form fingerprint, plus the timestamp-millis logical
 * types, which that form drops); {@link #forType} gives none for a class whose schema has changed, so
 * the caller falls back to the generic writer (and {@code OutputEncodersTest} fails until this class
 * is updated).
 *
 * <p>A record the encoder does not expect (a null in a non-null field, a map value outside {@code
 * [null, long, double, string]}) makes {@link Encoder#encode} return {@code false} with the buffer
 * in an unspecified state: the caller then writes it with the generic writer, which throws the
 * error it always threw.
 *
 * <p>Not thread-safe: one per serializer instance (Flink subtask).
 */
public final class OutputEncoders {
  /** {@code SchemaNormalization.parsingFingerprint64} of {@link Score#getClassSchema()}. */
  static final long SCORE_SHAPE = 0x7F270A9C74BECC52L;
  /** {@code SchemaNormalization.parsingFingerprint64} of {@link FeatureVector#getClassSchema()}. */
  static final long FEATURE_VECTOR_SHAPE = 0xCF058A0A61B4D716L;

  private static final int MAX_CACHED_KEYS = 1024;

  private OutputEncoders() {}

  /** Writes one record's Avro binary body into a {@link Buffer}. */
  public interface Encoder<T> {
    /** Appends {@code record}'s body to {@code out}; false if the record must take the slow path. */
    boolean encode(T record, Buffer out);
  }

  /** The fast encoder of {@code type}, or null (no encoder for it, or its schema has changed). */
  @SuppressWarnings("unchecked")
  public static <T> Encoder<T> forType(Class<T> type) {
    if (type == Score.class && matches(Score.getClassSchema(), SCORE_SHAPE, "event_time",
        "scored_at")) {
      return (Encoder<T>) new ScoreEncoder();
    }
    if (type == FeatureVector.class && matches(FeatureVector.getClassSchema(),
        FEATURE_VECTOR_SHAPE, "event_time")) {
      return (Encoder<T>) new FeatureVectorEncoder();
    }
    return null;
  }

  static boolean matches(Schema schema, long shape, String... timestampMillisFields) {
    if (SchemaNormalization.parsingFingerprint64(schema) != shape) {
      return false;
    }
    for (String f : timestampMillisFields) {
      if (!(schema.getField(f).schema().getLogicalType() instanceof LogicalTypes.TimestampMillis)) {
        return false;
      }
    }
    return true;
  }

  private static final class ScoreEncoder implements Encoder<Score> {
    private final KeyCache keys = new KeyCache();

    @Override
    public boolean encode(Score s, Buffer out) {
      String id = s.getTransactionId();
      Instant eventTime = s.getEventTime();
      Instant scoredAt = s.getScoredAt();
      String version = s.getModelVersion();
      dev.vigil.avro.Decision decision = s.getDecision();
      Map<String, Object> features = s.getFeatures();
      if (id == null || eventTime == null || scoredAt == null || version == null
          || decision == null || features == null) {
        return false;
      }
      out.writeString(id);
      out.writeLong(eventTime.toEpochMilli());
      out.writeLong(scoredAt.toEpochMilli());
      out.writeString(version);
      out.writeDouble(s.getScore());
      out.writeLong(decision.ordinal());
      if (!writeFeatures(features, keys, out)) {
        return false;
      }
      ShadowScore shadow = s.getShadow();
      if (shadow == null) {
        out.writeLong(0);
      } else {
        String sv = shadow.getModelVersion();
        dev.vigil.avro.Decision sd = shadow.getDecision();
        if (sv == null || sd == null) {
          return false;
        }
        out.writeLong(1);
        out.writeString(sv);
        out.writeDouble(shadow.getScore());
        out.writeLong(sd.ordinal());
      }
      return true;
    }
  }

  private static final class FeatureVectorEncoder implements Encoder<FeatureVector> {
    private final KeyCache keys = new KeyCache();

    @Override
    public boolean encode(FeatureVector v, Buffer out) {
      String id = v.getTransactionId();
      Instant eventTime = v.getEventTime();
      String fingerprint = v.getSpecFingerprint();
      Map<String, String> entityKeys = v.getEntityKeys();
      Map<String, Object> features = v.getFeatures();
      if (id == null || eventTime == null || fingerprint == null || entityKeys == null
          || features == null) {
        return false;
      }
      out.writeString(id);
      out.writeLong(eventTime.toEpochMilli());
      out.writeString(fingerprint);
      int size = entityKeys.size();
      if (size > 0) {
        out.writeLong(size);
        int n = 0;
        for (Map.Entry<String, String> e : entityKeys.entrySet()) {
          String value = e.getValue();
          if (!keys.write(e.getKey(), out) || value == null) {
            return false;
          }
          out.writeString(value);
          n++;
        }
        if (n != size) {
          return false;
        }
      }
      out.writeLong(0);
      return writeFeatures(features, keys, out);
    }
  }

  /** A {@code map<union[null, long, double, string]>}: one block of every entry, then 0. */
  private static boolean writeFeatures(Map<String, Object> features, KeyCache keys, Buffer out) {
    int size = features.size();
    if (size > 0) {
      out.writeLong(size);
      int n = 0;
      for (Map.Entry<String, Object> e : features.entrySet()) {
        if (!keys.write(e.getKey(), out)) {
          return false;
        }
        Object value = e.getValue();
        if (value == null) {
          out.writeLong(0);
        } else if (value instanceof Long l) {
          out.writeLong(1);
          out.writeLong(l);
        } else if (value instanceof Double d) {
          out.writeLong(2);
          out.writeDouble(d);
        } else if (value instanceof String str) {
          out.writeLong(3);
          out.writeString(str);
        } else {
          return false;
        }
        n++;
      }
      if (n != size) {
        return false;
      }
    }
    out.writeLong(0);
    return true;
  }

  /** Map keys as their encoded Avro strings (length + UTF-8), at most {@link #MAX_CACHED_KEYS}. */
  private static final class KeyCache {
    private final Map<String, byte[]> encoded = new HashMap<>();

    boolean write(Object key, Buffer out) {
      if (!(key instanceof String k)) {
        return false;
      }
      byte[] bytes = encoded.get(k);
      if (bytes == null) {
        Buffer b = new Buffer(k.length() + 5);
        b.writeString(k);
        bytes = b.toByteArray();
        if (encoded.size() < MAX_CACHED_KEYS) {
          encoded.put(k, bytes);
        }
      }
      out.writeBytes(bytes);
      return true;
    }
  }

  /** A growable byte buffer with Avro's binary primitives (zig-zag varints, little-endian doubles). */
  public static final class Buffer {
    private byte[] buf;
    private int pos;

    public Buffer(int capacity) {
      buf = new byte[Math.max(capacity, 16)];
    }

    public void reset() {
      pos = 0;
    }

    public int size() {
      return pos;
    }

    public byte[] toByteArray() {
      return Arrays.copyOf(buf, pos);
    }

    private void ensure(int more) {
      if (buf.length - pos < more) {
        buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + more));
      }
    }

    public void writeByte(int b) {
      ensure(1);
      buf[pos++] = (byte) b;
    }

    public void writeBytes(byte[] bytes) {
      ensure(bytes.length);
      System.arraycopy(bytes, 0, buf, pos, bytes.length);
      pos += bytes.length;
    }

    /** Avro {@code long} (and {@code int}, enum index, union branch, block count): zig-zag varint. */
    public void writeLong(long v) {
      ensure(10);
      long n = (v << 1) ^ (v >> 63);
      while ((n & ~0x7FL) != 0) {
        buf[pos++] = (byte) ((n & 0x7F) | 0x80);
        n >>>= 7;
      }
      buf[pos++] = (byte) n;
    }

    /** Avro {@code double}: the raw IEEE 754 bits, little-endian. */
    public void writeDouble(double d) {
      ensure(8);
      long bits = Double.doubleToRawLongBits(d);
      for (int i = 0; i < 8; i++) {
        buf[pos++] = (byte) (bits >>> (8 * i));
      }
    }

    /** Avro {@code string}: length in bytes, then UTF-8 (as {@code String.getBytes(UTF_8)}). */
    public void writeString(String s) {
      int len = s.length();
      ensure(len + 5);
      int start = pos;
      // ASCII fast path: the length is known, the chars are the bytes
      if (len < 64) {
        buf[pos++] = (byte) (len << 1);
        for (int i = 0; i < len; i++) {
          char c = s.charAt(i);
          if (c >= 0x80) {
            pos = start;
            writeUtf8(s);
            return;
          }
          buf[pos++] = (byte) c;
        }
        return;
      }
      writeUtf8(s);
    }

    private void writeUtf8(String s) {
      byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
      writeLong(bytes.length);
      writeBytes(bytes);
    }
  }
}
