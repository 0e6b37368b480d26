package dev.vigil.transforms.engine;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/** The state codec's byte-level writer and reader: varints, zigzag, doubles, tagged values. */
final class Bytes {
  private Bytes() {}

  static final int NULL = 0;
  static final int LONG = 1;
  static final int DOUBLE = 2;
  static final int STRING = 3;
  static final int TRUE = 4;
  static final int FALSE = 5;
  /** Little-endian 8-byte access to byte arrays: one load or store instead of eight. */
  private static final VarHandle LONG_LE =
      MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

  /** A growable output buffer. Reused per engine call, copied out once. */
  static final class Writer {
    private byte[] buf = new byte[256];
    private int pos;

    void reset() {
      pos = 0;
    }

    byte[] toArray() {
      return Arrays.copyOf(buf, pos);
    }

    int size() {
      return pos;
    }

    private void ensure(int more) {
      if (pos + more > buf.length) {
        buf = Arrays.copyOf(buf, Math.max(buf.length * 2, pos + more));
      }
    }

    /** The internal array; valid up to {@link #size()} until the next write. */
    byte[] array() {
      return buf;
    }

    void bytes(byte[] src, int off, int len) {
      ensure(len);
      System.arraycopy(src, off, buf, pos, len);
      pos += len;
    }

    void byte1(int b) {
      ensure(1);
      buf[pos++] = (byte) b;
    }

    void varlong(long v) {
      ensure(10);
      while ((v & ~0x7FL) != 0) {
        buf[pos++] = (byte) ((v & 0x7F) | 0x80);
        v >>>= 7;
      }
      buf[pos++] = (byte) v;
    }

    void zigzag(long v) {
      varlong((v << 1) ^ (v >> 63));
    }

    void fixed64(long v) {
      ensure(8);
      LONG_LE.set(buf, pos, v);
      pos += 8;
    }

    void float64(double d) {
      fixed64(Double.doubleToRawLongBits(d));
    }

    void tagged(Object v) {
      if (v == null) {
        byte1(NULL);
      } else if (v instanceof Long l) {
        byte1(LONG);
        zigzag(l);
      } else if (v instanceof Double d) {
        byte1(DOUBLE);
        float64(d);
      } else if (v instanceof Boolean b) {
        byte1(b ? TRUE : FALSE);
      } else {
        byte[] s = v.toString().getBytes(StandardCharsets.UTF_8);
        byte1(STRING);
        varlong(s.length);
        ensure(s.length);
        System.arraycopy(s, 0, buf, pos, s.length);
        pos += s.length;
      }
    }
  }

  /** Reads what {@link Writer} wrote. */
  static final class Reader {
    private final byte[] buf;
    private int pos;

    Reader(byte[] buf) {
      this.buf = buf;
    }

    Reader(byte[] buf, int pos) {
      this.buf = buf;
      this.pos = pos;
    }

    int pos() {
      return pos;
    }

    void skip(int n) {
      pos += n;
    }

    boolean atEnd() {
      return pos >= buf.length;
    }

    int byte1() {
      return buf[pos++] & 0xFF;
    }

    long varlong() {
      byte b0 = buf[pos];
      if (b0 >= 0) { // most varints here are one byte (counts, deltas, flags)
        pos++;
        return b0;
      }
      byte b1 = buf[pos + 1];
      if (b1 >= 0) {
        pos += 2;
        return (b0 & 0x7F) | ((long) b1 << 7);
      }
      long v = 0;
      int shift = 0;
      while (true) {
        byte b = buf[pos++];
        v |= (long) (b & 0x7F) << shift;
        if (b >= 0) {
          return v;
        }
        shift += 7;
      }
    }

    long zigzag() {
      long v = varlong();
      return (v >>> 1) ^ -(v & 1);
    }

    long fixed64() {
      long v = (long) LONG_LE.get(buf, pos);
      pos += 8;
      return v;
    }

    double float64() {
      return Double.longBitsToDouble(fixed64());
    }

    Object tagged() {
      int tag = byte1();
      return switch (tag) {
        case NULL -> null;
        case LONG -> zigzag();
        case DOUBLE -> float64();
        case TRUE -> Boolean.TRUE;
        case FALSE -> Boolean.FALSE;
        case STRING -> {
          int n = (int) varlong();
          String s = new String(buf, pos, n, StandardCharsets.UTF_8);
          pos += n;
          yield s;
        }
        default -> throw new IllegalStateException("corrupt feature state: value tag " + tag);
      };
    }
  }

  /** A 64-bit hash of a scalar, for distinct counts (collisions: ~n²/2⁶⁵, negligible). */
  static long hash(Object v) {
    if (v instanceof Long l) {
      return mix(l * 0x9E3779B97F4A7C15L + 1);
    }
    if (v instanceof Double d) {
      return mix(Double.doubleToLongBits(d) * 0x9E3779B97F4A7C15L + 2);
    }
    if (v instanceof Boolean b) {
      return mix(b ? 3 : 4);
    }
    String s = v.toString();
    long h = 0xcbf29ce484222325L;
    for (int i = 0; i < s.length(); i++) {
      h ^= s.charAt(i);
      h *= 0x100000001b3L;
    }
    return mix(h ^ s.length());
  }

  /** MurmurHash3's 64-bit finalizer. */
  static long mix(long h) {
    h ^= h >>> 33;
    h *= 0xff51afd7ed558ccdL;
    h ^= h >>> 33;
    h *= 0xc4ceb9fe1a85ec53L;
    h ^= h >>> 33;
    return h;
  }
}
