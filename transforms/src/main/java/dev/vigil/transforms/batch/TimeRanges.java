package dev.vigil.transforms.batch;

import java.util.Arrays;
import org.apache.flink.api.common.functions.Partitioner;

/**
 * Range partitioning of output positions (event time, ordinal) by event time: part {@code p} gets
 * the times in {@code [bounds[p-1], bounds[p])}, so the parts cover contiguous ranges of the output
 * order and part-00000, part-00001, … concatenated are in order. Ties in time never straddle two
 * parts. The bounds come from a sample of the input ({@link TimeSample}); a poor sample costs
 * balance, never order.
 */
final class TimeRanges implements Partitioner<Long> {
  private static final long serialVersionUID = 1L;
  private final long[] bounds;

  /** {@code bounds}: ascending, at most one fewer than the parts. */
  TimeRanges(long[] bounds) {
    this.bounds = bounds.clone();
    for (int i = 1; i < bounds.length; i++) {
      if (bounds[i] < bounds[i - 1]) {
        throw new IllegalArgumentException("bounds not ascending: " + Arrays.toString(bounds));
      }
    }
  }

  /** The part of events at {@code time}: how many bounds are at or before it. */
  int partOf(long time) {
    int lo = 0;
    int hi = bounds.length;
    while (lo < hi) { // first bound > time
      int mid = (lo + hi) >>> 1;
      if (bounds[mid] <= time) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  @Override
  public int partition(Long time, int parts) {
    if (bounds.length >= parts) {
      throw new IllegalStateException(bounds.length + " bounds for " + parts + " parts");
    }
    return partOf(time);
  }

  long[] bounds() {
    return bounds.clone();
  }
}
