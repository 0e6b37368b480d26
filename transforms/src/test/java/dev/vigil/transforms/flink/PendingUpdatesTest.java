package dev.vigil.transforms.flink;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PendingUpdatesTest {
  private static FeatureEvent event(long seq) {
    FeatureEvent e = new FeatureEvent();
    e.seq = seq;
    return e;
  }

  private record Entry(long time, FeatureEvent event) {}

  @Test
  void keepsEventTimeOrderAndTheReplayOnlyWhileItsPrefixIsUnchanged() {
    Random random = new Random(7);
    PendingUpdates pending = new PendingUpdates();
    List<Entry> model = new ArrayList<>();
    Comparator<Entry> order = Comparator.<Entry>comparingLong(Entry::time)
        .thenComparingLong(x -> x.event().seq);
    long seq = 0;
    for (int step = 0; step < 20_000; step++) {
      int op = random.nextInt(3);
      if (op == 0 || model.isEmpty()) {
        long t = random.nextInt(200);
        FeatureEvent e = event(seq++);
        pending.add(e, t);
        model.add(new Entry(t, e));
        model.sort(order);
      } else if (op == 1) {
        // applied for good: mostly the oldest, sometimes another
        int i = random.nextInt(4) == 0 ? random.nextInt(model.size()) : 0;
        Entry gone = model.remove(i);
        pending.removeApplied(gone.event());
      } else {
        long asOf = random.nextInt(220);
        int prefix = (int) model.stream().filter(x -> x.time() < asOf).count();
        pending.replayedTo(asOf, new byte[] {1}, prefix);
      }
      assertThat(pending.size()).isEqualTo(model.size());
      for (int i = 0; i < model.size(); i++) {
        assertThat(pending.event(i)).isSameAs(model.get(i).event());
        assertThat(pending.time(i)).isEqualTo(model.get(i).time());
      }
      // The invariant the stage relies on: a kept replay holds exactly the events before its cursor.
      if (pending.replayedCount() > 0) {
        long cursor = pending.cursor();
        long before = model.stream().filter(x -> x.time() < cursor).count();
        assertThat(pending.replayedCount()).isEqualTo((int) before);
        assertThat(pending.replayed()).isNotNull();
      }
    }
  }
}
