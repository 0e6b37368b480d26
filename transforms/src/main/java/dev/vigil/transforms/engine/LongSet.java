package dev.vigil.transforms.engine;

import java.util.Arrays;

/** A small open-addressing set of longs (distinct-value hashes), without boxing. */
final class LongSet {
  private long[] slots;
  private int size;
  private boolean hasZero;

  LongSet(int expected) {
    int cap = 4;
    while (cap < expected * 2) {
      cap <<= 1;
    }
    slots = new long[cap];
  }

  int size() {
    return size + (hasZero ? 1 : 0);
  }

  boolean add(long v) {
    if (v == 0) {
      if (hasZero) {
        return false;
      }
      hasZero = true;
      return true;
    }
    if ((size + 1) * 2 > slots.length) {
      grow();
    }
    int mask = slots.length - 1;
    int i = (int) Bytes.mix(v) & mask;
    while (slots[i] != 0) {
      if (slots[i] == v) {
        return false;
      }
      i = (i + 1) & mask;
    }
    slots[i] = v;
    size++;
    return true;
  }

  boolean contains(long v) {
    if (v == 0) {
      return hasZero;
    }
    int mask = slots.length - 1;
    int i = (int) Bytes.mix(v) & mask;
    while (slots[i] != 0) {
      if (slots[i] == v) {
        return true;
      }
      i = (i + 1) & mask;
    }
    return false;
  }

  /** Removes {@code v}; linear probing's backward shift keeps every other value reachable. */
  boolean remove(long v) {
    if (v == 0) {
      boolean had = hasZero;
      hasZero = false;
      return had;
    }
    int mask = slots.length - 1;
    int i = (int) Bytes.mix(v) & mask;
    while (slots[i] != v) {
      if (slots[i] == 0) {
        return false;
      }
      i = (i + 1) & mask;
    }
    int j = i;
    while (true) {
      j = (j + 1) & mask;
      if (slots[j] == 0) {
        break;
      }
      int home = (int) Bytes.mix(slots[j]) & mask;
      // slots[j] may move into the hole at i unless its home lies cyclically in (i, j].
      boolean stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        slots[i] = slots[j];
        i = j;
      }
    }
    slots[i] = 0;
    size--;
    return true;
  }

  void addAll(LongSet other) {
    if (other.hasZero) {
      add(0);
    }
    for (long v : other.slots) {
      if (v != 0) {
        add(v);
      }
    }
  }

  void clear() {
    Arrays.fill(slots, 0);
    size = 0;
    hasZero = false;
  }

  private void grow() {
    long[] old = slots;
    slots = new long[old.length * 2];
    size = 0;
    for (long v : old) {
      if (v != 0) {
        add(v);
      }
    }
  }

  void write(Bytes.Writer out) {
    out.varlong(size());
    if (hasZero) {
      out.fixed64(0);
    }
    for (long v : slots) {
      if (v != 0) {
        out.fixed64(v);
      }
    }
  }

  /** Reads a set written by {@link #write}, into {@code reuse} (emptied first) when not null. */
  static LongSet read(Bytes.Reader in, LongSet reuse) {
    int n = (int) in.varlong();
    LongSet set = reuse == null ? new LongSet(n) : emptied(reuse);
    for (int i = 0; i < n; i++) {
      set.add(in.fixed64());
    }
    return set;
  }

  /** {@code set} emptied (a small new one if it is null or grew large), for reuse. */
  static LongSet emptied(LongSet set) {
    if (set == null || set.slots.length > 64) {
      return new LongSet(4);
    }
    set.clear();
    return set;
  }
}
