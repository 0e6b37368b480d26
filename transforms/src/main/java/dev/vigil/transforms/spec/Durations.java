package dev.vigil.transforms.spec;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Spec durations: a whole number and a unit, {@code 250ms}, {@code 90s}, {@code 30m}, {@code 24h}, {@code 365d}. */
public final class Durations {
  private static final Pattern FORMAT = Pattern.compile("(\\d+)(ms|s|m|h|d)");
  public static final String ALLOWED = "a whole number with a unit: ms, s, m, h or d (e.g. 90s, 30m, 24h, 365d)";

  private Durations() {}

  /** Milliseconds of {@code text}. */
  public static long parseMillis(String text) {
    Matcher m = FORMAT.matcher(text.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException("'" + text + "' is not a duration: use " + ALLOWED);
    }
    long n = Long.parseLong(m.group(1));
    long unit =
        switch (m.group(2)) {
          case "ms" -> 1L;
          case "s" -> 1_000L;
          case "m" -> 60_000L;
          case "h" -> 3_600_000L;
          default -> 86_400_000L;
        };
    if (n <= 0) {
      throw new IllegalArgumentException("'" + text + "' must be longer than zero");
    }
    return Math.multiplyExact(n, unit);
  }

  /** The shortest spec spelling of {@code millis}. */
  public static String format(long millis) {
    if (millis % 86_400_000L == 0) {
      return millis / 86_400_000L + "d";
    }
    if (millis % 3_600_000L == 0) {
      return millis / 3_600_000L + "h";
    }
    if (millis % 60_000L == 0) {
      return millis / 60_000L + "m";
    }
    if (millis % 1_000L == 0) {
      return millis / 1_000L + "s";
    }
    return millis + "ms";
  }

  /** The default tile resolution for a window: ≥ 12 days → 1 day, ≥ 12 hours → 1 hour, else 5 minutes. */
  public static long defaultResolution(long windowMillis) {
    if (windowMillis >= 12 * 86_400_000L) {
      return 86_400_000L;
    }
    if (windowMillis >= 12 * 3_600_000L) {
      return 3_600_000L;
    }
    return 300_000L;
  }
}
