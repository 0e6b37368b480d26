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
 *
 * <p>{@code idleTtlMillis} ({@code idle_ttl:}, 0 for none): a key whose newest event is at least
 * this old when its next event (or read) comes starts afresh, as if never seen, in the engine
 * itself ({@link dev.vigil.transforms.engine.EntityEngine}), so that online and offline agree and
 * the stage may drop the key's state once the watermark has passed that point. The way to bound
 * the keys of an entity with a lifetime feature.
 */
public record EntityTiming(Ordering ordering, long asOfMillis, long idleTtlMillis)
    implements Serializable {
  /** Event-time order, no lag, no idle expiry. */
  public static final EntityTiming DEFAULT = new EntityTiming(Ordering.EVENT_TIME, 0);

  /** No idle expiry. */
  public EntityTiming(Ordering ordering, long asOfMillis) {
    this(ordering, asOfMillis, 0);
  }

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
    if (idleTtlMillis < 0) {
      throw new IllegalArgumentException("idle_ttl must not be negative, got " + idleTtlMillis);
    }
  }

  /**
   * From a spec's {@code ordering:}, {@code as_of:} and {@code idle_ttl:} (any may be null);
   * problems collected.
   */
  static EntityTiming parse(String ordering, String asOf, String idleTtl, String where,
      List<String> problems) {
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
    long idle = 0;
    if (idleTtl != null) {
      try {
        idle = Durations.parseMillis(idleTtl);
        if (idle <= 0) {
          problems.add(where + ": key 'idle_ttl': must be longer than 0 (leave it out for none)");
          idle = 0;
        }
      } catch (IllegalArgumentException e) {
        problems.add(where + ": key 'idle_ttl': " + e.getMessage());
      }
    }
    return new EntityTiming(o, lag, idle);
  }

  /** For {@code features explain} and the manifest: e.g. {@code event_time, as_of 2s}. */
  public String describe() {
    return ordering.spelling() + (asOfMillis == 0 ? "" : ", as_of " + Durations.format(asOfMillis))
        + (idleTtlMillis == 0 ? "" : ", idle_ttl " + Durations.format(idleTtlMillis));
  }

  /** In the spec's fingerprint: without an idle TTL, as before there was one. */
  @Override
  public String toString() {
    return ordering.spelling() + "/" + asOfMillis + (idleTtlMillis == 0 ? "" : "/idle=" + idleTtlMillis);
  }
}
