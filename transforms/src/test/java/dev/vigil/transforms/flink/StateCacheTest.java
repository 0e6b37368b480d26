package dev.vigil.transforms.flink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class StateCacheTest {
  /** The reference: a FIFO with second chance over a LinkedHashMap, as the stage had before. */
  private static final class Reference {
    final LinkedHashMap<String, boolean[]> order = new LinkedHashMap<>(); // {referenced}
    final Map<String, byte[]> values = new HashMap<>();

    String evict() {
      while (true) {
        Map.Entry<String, boolean[]> eldest = order.entrySet().iterator().next();
        order.remove(eldest.getKey());
        if (eldest.getValue()[0]) {
          eldest.getValue()[0] = false;
          order.put(eldest.getKey(), eldest.getValue());
          continue;
        }
        return eldest.getKey();
      }
    }
  }

  @Test
  void findsAddsDiscardsAndEvictsInTheOrderOfASecondChanceFifo() throws Exception {
    Random random = new Random(3);
    for (int round = 0; round < 50; round++) {
      int capacity = 1 + random.nextInt(40);
      StateCache cache = new StateCache(capacity);
      Reference ref = new Reference();
      int keys = capacity + 1 + random.nextInt(3 * capacity);
      for (int op = 0; op < 3000; op++) {
        String key = "k" + random.nextInt(keys);
        int id = cache.find(key, key.hashCode());
        assertThat(id >= 0).as("round %d op %d %s", round, op, key).isEqualTo(ref.values.containsKey(key));
        if (id >= 0 && random.nextInt(8) == 0) {
          cache.discard(id); // an expired key, wherever it is in the FIFO
          ref.order.remove(key);
          ref.values.remove(key);
          assertThat(cache.find(key, key.hashCode())).isEqualTo(-1);
          assertThat(cache.size()).isEqualTo(ref.values.size());
          continue;
        }
        byte[] value = {(byte) op};
        if (id >= 0) {
          assertThat(cache.stateOf(id)).isEqualTo(ref.values.get(key));
          cache.markReferenced(id);
          ref.order.get(key)[0] = true;
          cache.put(id, value, value.length);
        } else {
          // A buffer with room to spare: the cache hands out only the state's bytes.
          byte[] buffer = java.util.Arrays.copyOf(value, 1 + random.nextInt(3));
          cache.add(key, key.hashCode(), buffer, 1);
          ref.order.put(key, new boolean[] {false});
        }
        ref.values.put(key, value);
        if (cache.overCapacity()) {
          int victim = cache.evictionCandidate();
          String evicted = ref.evict();
          assertThat(cache.key(victim)).isEqualTo(evicted);
          // What the stage writes out: the state last put, as an exact array.
          assertThat(cache.stateOf(victim)).isEqualTo(ref.values.remove(evicted));
          cache.remove(victim);
        }
        assertThat(cache.size()).isEqualTo(ref.values.size());
      }
      Map<Object, byte[]> flushed = new HashMap<>();
      ArrayDeque<Object> flushOrder = new ArrayDeque<>();
      cache.forEach((k, v) -> {
        flushed.put(k, v);
        flushOrder.add(k);
      });
      assertThat(flushed).hasSameSizeAs(ref.values);
      flushed.forEach((k, v) -> assertThat(v).isEqualTo(ref.values.get(k)));
      assertThat(flushOrder).containsExactlyElementsOf(ref.order.keySet());
      cache.clear();
      assertThat(cache.size()).isZero();
      assertThat(cache.find("k0", "k0".hashCode())).isEqualTo(-1);
    }
  }

  @Test
  void refusesAnAddBeyondItsSpareEntry() {
    StateCache cache = new StateCache(1);
    cache.add("a", "a".hashCode(), new byte[0], 0);
    cache.add("b", "b".hashCode(), new byte[0], 0);
    assertThatThrownBy(() -> cache.add("c", "c".hashCode(), new byte[0], 0))
        .hasMessageContaining("evict before adding");
  }
}
