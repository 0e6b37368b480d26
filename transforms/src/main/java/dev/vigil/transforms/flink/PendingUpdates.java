package dev.vigil.transforms.flink;

import java.util.Arrays;

/**
 * One key's events whose update an event-time stage with an {@code as_of} lag has not applied for
 * good yet, in event-time order (ties by {@code seq}), and the state a reader replayed them into.
 *
 * <p>A reader at {@code asOf} needs the key's state plus every pending event older than {@code
 * asOf}: a prefix of this list. Readers of a key mostly come in event-time order, so the stage
 * keeps the last reader's replayed state and how many events of the prefix it holds ({@link
 * #replayed()}, {@link #replayedCount()}); the next reader at a later {@code asOf} goes on from
 * there instead of replaying the whole list again, which made a read cost O(pending) and a
 * catch-up O(pending²) per key. The replayed state stays valid when the oldest event is applied
 * for good ({@link #removeApplied}: the state gains what the replay already held); anything else
 * that changes the prefix or the state drops it ({@link #invalidate}).
 */
final class PendingUpdates {
  private FeatureEvent[] events = new FeatureEvent[4];
  private long[] times = new long[4];
  private int head;
  private int size;
  private byte[] replayed;
  private int replayedCount;
  private long cursor = Long.MIN_VALUE;

  boolean isEmpty() {
    return size == 0;
  }

  int size() {
    return size;
  }

  FeatureEvent event(int i) {
    return events[head + i];
  }

  long time(int i) {
    return times[head + i];
  }

  /** Inserts {@code e} (event time {@code t}) in order; one before the replay cursor drops it. */
  void add(FeatureEvent e, long t) {
    if (head + size == events.length) {
      if (head > 0 && size < events.length / 2) {
        System.arraycopy(events, head, events, 0, size);
        System.arraycopy(times, head, times, 0, size);
        Arrays.fill(events, size, head + size, null);
      } else {
        events = Arrays.copyOf(events, events.length * 2);
        times = Arrays.copyOf(times, times.length * 2);
        System.arraycopy(events, head, events, 0, size);
        System.arraycopy(times, head, times, 0, size);
        Arrays.fill(events, size, head + size, null);
      }
      head = 0;
    }
    int i = head + size;
    while (i > head && (times[i - 1] > t || (times[i - 1] == t && events[i - 1].seq > e.seq))) {
      events[i] = events[i - 1];
      times[i] = times[i - 1];
      i--;
    }
    events[i] = e;
    times[i] = t;
    size++;
    if (t < cursor || i - head < replayedCount) {
      invalidate();
    }
  }

  /** Removes {@code e}, whose update is now applied to the key's state for good. */
  void removeApplied(FeatureEvent e) {
    if (size > 0 && events[head] == e) {
      events[head] = null;
      head++;
      size--;
      if (replayedCount > 0) {
        replayedCount--; // the state now holds it, the replay still does: still valid
      }
    } else {
      for (int i = head; i < head + size; i++) {
        if (events[i] == e) {
          System.arraycopy(events, i + 1, events, i, head + size - i - 1);
          System.arraycopy(times, i + 1, times, i, head + size - i - 1);
          events[head + size - 1] = null;
          size--;
          invalidate();
          break;
        }
      }
    }
    if (size == 0) {
      head = 0;
      invalidate();
    }
  }

  /** The state the last reader replayed (the key's state plus {@link #replayedCount} events). */
  byte[] replayed() {
    return replayed;
  }

  int replayedCount() {
    return replayedCount;
  }

  long cursor() {
    return cursor;
  }

  void replayedTo(long asOf, byte[] state, int count) {
    cursor = asOf;
    replayed = count == 0 ? null : state;
    replayedCount = count;
  }

  /** The key's state changed another way, or the prefix did: the next reader replays afresh. */
  void invalidate() {
    replayed = null;
    replayedCount = 0;
    cursor = Long.MIN_VALUE;
  }
}
