package dev.vigil.jobs;

/** The event sequence number of the scoring job: partition and offset in one long. */
public final class Seq {
  private static final int OFFSET_BITS = 48;
  private static final long OFFSET_MASK = (1L << OFFSET_BITS) - 1;

  private Seq() {}

  public static long of(int partition, long offset) {
    if (partition < 0 || partition >= (1 << 15) || offset < 0 || offset > OFFSET_MASK) {
      throw new IllegalArgumentException("partition " + partition + " offset " + offset
          + " out of range for a sequence number");
    }
    return ((long) partition << OFFSET_BITS) | offset;
  }

  public static int partition(long seq) {
    return (int) (seq >>> OFFSET_BITS);
  }

  public static long offset(long seq) {
    return seq & OFFSET_MASK;
  }
}
