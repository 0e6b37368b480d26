package dev.vigil.transforms.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LongSetTest {
  @Test
  void addsRemovesAndFindsLikeAHashSetUnderHeavyCollisions() {
    Random random = new Random(7);
    for (int round = 0; round < 200; round++) {
      LongSet set = new LongSet(2);
      Set<Long> reference = new HashSet<>();
      // A small value range: many collisions, re-adds and removals of absent values; 0 included.
      int range = 4 + random.nextInt(60);
      for (int op = 0; op < 500; op++) {
        long v = random.nextInt(range);
        switch (random.nextInt(3)) {
          case 0 -> assertThat(set.add(v)).isEqualTo(reference.add(v));
          case 1 -> assertThat(set.remove(v)).isEqualTo(reference.remove(v));
          default -> assertThat(set.contains(v)).isEqualTo(reference.contains(v));
        }
        assertThat(set.size()).isEqualTo(reference.size());
      }
      for (long v = 0; v < range; v++) {
        assertThat(set.contains(v)).as("round %d value %d", round, v).isEqualTo(reference.contains(v));
      }
    }
  }
}
