package dev.vigil.transforms.offline;

import java.io.PrintStream;
import java.util.Locale;

/** A progress line every couple of seconds on long work: count, rate, share done, ETA. */
public final class Progress {
  private final PrintStream out;
  private final String what;
  private final long totalBytes;
  private final long started = System.nanoTime();
  private long lastPrint = System.nanoTime();
  private final long intervalNanos;

  public Progress(PrintStream out, String what, long totalBytes, long intervalMillis) {
    this.out = out;
    this.what = what;
    this.totalBytes = totalBytes;
    this.intervalNanos = intervalMillis * 1_000_000L;
  }

  /** Prints a line if the interval has passed. Cheap to call per event. */
  public void tick(long events, long bytesRead) {
    long now = System.nanoTime();
    if (now - lastPrint < intervalNanos) {
      return;
    }
    lastPrint = now;
    double seconds = (now - started) / 1e9;
    double rate = events / Math.max(seconds, 1e-9);
    String share = "";
    if (totalBytes > 0 && bytesRead > 0) {
      double done = Math.min(1.0, (double) bytesRead / totalBytes);
      double eta = done > 0 ? seconds * (1 - done) / done : 0;
      share = String.format(Locale.ROOT, ", %.0f%%, ETA %.0f s", done * 100, eta);
    }
    out.printf(Locale.ROOT, "%s: %,d events, %,.0f events/s%s%n", what, events, rate, share);
    out.flush();
  }

  public double seconds() {
    return (System.nanoTime() - started) / 1e9;
  }
}
