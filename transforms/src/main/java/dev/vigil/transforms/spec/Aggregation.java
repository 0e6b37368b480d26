package dev.vigil.transforms.spec;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/** What a feature computes over the events of its window. */
public enum Aggregation {
  /** Number of events. Empty window: 0. */
  COUNT(false),
  /** Sum of a numeric field (exact long for int/long fields). Empty: 0. Nulls skipped. */
  SUM(true),
  /** Mean of a numeric field, as a double. Empty: null. Nulls skipped. */
  MEAN(true),
  /** Smallest value of a numeric field. Empty: null. */
  MIN(true),
  /** Largest value of a numeric field. Empty: null. */
  MAX(true),
  /** Number of distinct values of a field. Empty: 0. Nulls skipped. */
  DISTINCT_COUNT(true),
  /** The field's value on the latest earlier event (null if that value was null). Empty: null. */
  LAST(true),
  /** Milliseconds since the latest earlier event. Empty: null. */
  TIME_SINCE_LAST(false),
  /** Milliseconds since the earliest earlier event (in the window). Empty: null. */
  TIME_SINCE_FIRST(false);

  private final boolean readsField;

  Aggregation(boolean readsField) {
    this.readsField = readsField;
  }

  /** True when the aggregation needs {@code field:}. */
  public boolean readsField() {
    return readsField;
  }

  /** True when the aggregation needs a numeric field. */
  public boolean numeric() {
    return this == SUM || this == MEAN || this == MIN || this == MAX;
  }

  /** The spec's spelling, e.g. {@code distinct_count}. */
  public String specName() {
    return name().toLowerCase(Locale.ROOT);
  }

  public static Aggregation parse(String text) {
    for (Aggregation a : values()) {
      if (a.specName().equals(text)) {
        return a;
      }
    }
    throw new IllegalArgumentException(
        "'" + text + "' is not one of " + allowed());
  }

  public static String allowed() {
    return Arrays.stream(values()).map(Aggregation::specName).collect(Collectors.joining(", "));
  }
}
