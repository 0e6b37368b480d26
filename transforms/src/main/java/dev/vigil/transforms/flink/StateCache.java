package dev.vigil.transforms.flink;

import java.util.Arrays;

/**
 * The feature stage's write-behind cache: up to {@code capacity} keys' state values, with
 * second-chance (CLOCK) eviction in insertion order. Entries live in parallel arrays under a stable
 * id; an open-addressing index of ids finds them. A hit reads two small int arrays, the key and the
 * value, where a {@code LinkedHashMap} also walks a node and a holder object per lookup: at 10,000
 * keys those two extra cache misses were a sixth of the stage's time ({@code bench features}).
 *
 * <p>Order: a FIFO of ids. The eldest leaves unless its {@code referenced} bit is set (a hit since
 * it came in or was last passed over); then the bit is cleared and it goes to the back. New entries
 * come in with the bit clear. Not thread-safe: one per operator subtask.
 *
 * <p>Every entry holds a state not yet written to the state backend: entries come in only when the
 * stage writes a key's new state, and leave when it is written out (eviction, flush).
 */
final class StateCache {
  private static final int EMPTY = -1;

  private final int capacity;
  private final Object[] keys;
  private final int[] hashes;
  /** Each entry's state is the first {@code lengths[id]} bytes of {@code values[id]}. */
  private final byte[][] values;
  private final int[] lengths;
  private final boolean[] referenced;
  /** Open addressing, linear probing: entry ids, EMPTY for a free slot. */
  private final int[] index;
  private final int mask;
  private final int[] free;
  private int freeCount;
  /** Entry ids, eldest first: a ring of capacity + 1 slots. */
  private final int[] fifo;
  private int head;
  private int tail;
  private int size;

  /** A cache of {@code capacity} keys; it may hold one more until {@link #evictionCandidate}. */
  StateCache(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be at least 1, got " + capacity);
    }
    this.capacity = capacity;
    int entries = capacity + 1;
    keys = new Object[entries];
    hashes = new int[entries];
    values = new byte[entries][];
    lengths = new int[entries];
    referenced = new boolean[entries];
    int slots = Integer.highestOneBit(Math.max(4, entries * 2 - 1)) << 1;
    index = new int[slots];
    mask = slots - 1;
    free = new int[entries];
    fifo = new int[entries + 1];
    clear();
  }

  int size() {
    return size;
  }

  boolean overCapacity() {
    return size > capacity;
  }

  /** The entry id of {@code key}, or -1. */
  int find(Object key, int hash) {
    for (int i = slot(hash); ; i = (i + 1) & mask) {
      int id = index[i];
      if (id == EMPTY) {
        return -1;
      }
      if (hashes[id] == hash && keys[id].equals(key)) {
        return id;
      }
    }
  }

  /**
   * Adds {@code key} (not present), not referenced, with its state in the first {@code length}
   * bytes of {@code buffer}; returns its id.
   */
  int add(Object key, int hash, byte[] buffer, int length) {
    if (freeCount == 0) {
      throw new IllegalStateException("state cache full: evict before adding");
    }
    int id = free[--freeCount];
    keys[id] = key;
    hashes[id] = hash;
    values[id] = buffer;
    lengths[id] = length;
    referenced[id] = false;
    int i = slot(hash);
    while (index[i] != EMPTY) {
      i = (i + 1) & mask;
    }
    index[i] = id;
    fifo[tail] = id;
    tail = next(tail);
    size++;
    return id;
  }

  Object key(int id) {
    return keys[id];
  }

  /** The entry's buffer: its state is the first {@link #length} bytes. */
  byte[] value(int id) {
    return values[id];
  }

  int length(int id) {
    return lengths[id];
  }

  /** The entry's state as an exact array, for the state backend. */
  byte[] stateOf(int id) {
    byte[] v = values[id];
    return v.length == lengths[id] ? v : Arrays.copyOf(v, lengths[id]);
  }

  void markReferenced(int id) {
    referenced[id] = true;
  }

  /** Sets the entry's state to the first {@code length} bytes of {@code buffer}. */
  void put(int id, byte[] buffer, int length) {
    values[id] = buffer;
    lengths[id] = length;
  }

  /**
   * The entry to evict (second chance: referenced entries passed over go to the back with their
   * bit cleared). The caller writes it out, then calls {@link #remove}.
   */
  int evictionCandidate() {
    while (true) {
      int id = fifo[head];
      head = next(head);
      if (!referenced[id]) {
        return id;
      }
      referenced[id] = false;
      fifo[tail] = id;
      tail = next(tail);
    }
  }

  /** Removes entry {@code id}, already taken off the FIFO by {@link #evictionCandidate}. */
  void remove(int id) {
    int i = slot(hashes[id]);
    while (index[i] != id) {
      i = (i + 1) & mask;
    }
    // Backward shift: entries after the hole move into it unless their home slot lies after it.
    int j = i;
    while (true) {
      j = (j + 1) & mask;
      int other = index[j];
      if (other == EMPTY) {
        break;
      }
      int home = slot(hashes[other]);
      boolean stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) {
        index[i] = other;
        i = j;
      }
    }
    index[i] = EMPTY;
    keys[id] = null;
    values[id] = null;
    free[freeCount++] = id;
    size--;
  }

  /**
   * Removes entry {@code id} wherever it is in the FIFO (the stage's expiry of a key: rare, so a
   * linear pass over the FIFO is fine).
   */
  void discard(int id) {
    int p = head;
    while (fifo[p] != id) {
      if (p == tail) {
        throw new IllegalStateException("entry " + id + " is not in the cache");
      }
      p = next(p);
    }
    for (int q = next(p); q != tail; p = q, q = next(q)) {
      fifo[p] = fifo[q];
    }
    tail = p;
    remove(id);
  }

  /** Calls {@code action} for each entry, eldest first, with its state as an exact array. */
  void forEach(EntryAction action) throws Exception {
    for (int p = head; p != tail; p = next(p)) {
      int id = fifo[p];
      action.accept(keys[id], stateOf(id));
    }
  }

  /** An entry's key and state, for {@link #forEach}. */
  interface EntryAction {
    void accept(Object key, byte[] value) throws Exception;
  }

  void clear() {
    Arrays.fill(index, EMPTY);
    Arrays.fill(keys, null);
    Arrays.fill(values, null);
    for (int id = 0; id < free.length; id++) {
      free[id] = free.length - 1 - id;
    }
    freeCount = free.length;
    head = 0;
    tail = 0;
    size = 0;
  }

  private int slot(int hash) {
    int h = hash * 0x9E3779B9; // Fibonacci hashing spreads String hashes' low bits
    return (h ^ (h >>> 16)) & mask;
  }

  private int next(int p) {
    return p + 1 == fifo.length ? 0 : p + 1;
  }
}
