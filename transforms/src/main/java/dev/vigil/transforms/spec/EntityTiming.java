package dev.vigil.transforms.spec;

import java.io.Serializable;
import java.util.List;
import java.util.Locale;

/**
 * How an entity's feature stage orders its events, and how far behind each event it reads. Part
 * of a feature's meaning (it is in the spec's fingerprint): the offline evaluator, the backfill,
 * the bootstrap and the streaming stages all follow it. docs/feature-spec.md, "Order and lag".
 *
 * <ul>
 *   <li>{@link Ordering#EVENT_TIME} (the default): the stage applies its key's events in event-time
 *       order once the watermark has passed them. Exact for any partitioning and any disorder within
 *       the source's bound.
 *   <li>{@link Ordering#ARRIVAL}: the stage applies each event as it arrives, without waiting. Only
 *       for the first entity, the one the input topic is partitioned by: exact when each key's
 *       events arrive in event-time order (one partition, a producer that writes them in order);
 *       an event behind its key's newest is counted ({@code out_of_order}) and its own values are
 *       read from a state that already holds later events.
 * </ul>
 *
 * <p>{@code asOfMillis} ({@code as_of:} in the spec): the features of an event at {@code t} are the
 * aggregates over the key's events before {@code t − as_of} instead of before {@code t}, online and
 * offline. When {@code as_of} is longer than the watermark's delay, an event-time stage answers
 * without waiting.
 */
public record EntityTiming(Ordering ordering, long asOfMillis) implements Serializable {
  /** Event-time order, no lag. */
  public static final EntityTiming DEFAULT = new EntityTiming(Ordering.EVENT_TIME, 0);

  /** How a stage orders its events. */
  public enum Ordering {
    EVENT_TIME,
    ARRIVAL;

    /** The spelling in a spec. */
    public String spelling() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public EntityTiming {
    if (asOfMillis < 0) {
      throw new IllegalArgumentException("as_of must not be negative, got " + asOfMillis);
    }
    if (ordering == Ordering.ARRIVAL && asOfMillis > 0) {
      throw new IllegalArgumentException("as_of needs ordering: event_time");
    }
  }

  /** From a spec's {@code ordering:} and {@code as_of:} (either may be null); problems collected. */
  static EntityTiming parse(String ordering, String asOf, String where, List<String> problems) {
    Ordering o = Ordering.EVENT_TIME;
    if (ordering != null) {
      switch (ordering) {
        case "event_time" -> o = Ordering.EVENT_TIME;
        case "arrival" -> o = Ordering.ARRIVAL;
        default -> problems.add(where + ": key 'ordering': '" + ordering
            + "' is not one of event_time, arrival");
      }
    }
    long lag = 0;
    if (asOf != null && !asOf.equals("0")) {
      try {
        lag = Durations.parseMillis(asOf);
      } catch (IllegalArgumentException e) {
        problems.add(where + ": key 'as_of': " + e.getMessage());
      }
    }
    if (o == Ordering.ARRIVAL && lag > 0) {
      problems.add(where + ": key 'as_of' needs ordering: event_time (an arrival-ordered stage"
          + " reads each event as it comes)");
      lag = 0;
    }
    return new EntityTiming(o, lag);
  }

  /** For {@code features explain} and the manifest: e.g. {@code event_time, as_of 2s}. */
  public String describe() {
    return ordering.spelling() + (asOfMillis == 0 ? "" : ", as_of " + Durations.format(asOfMillis));
  }

  @Override
  public String toString() {
    return ordering.spelling() + "/" + asOfMillis;
  }
}
