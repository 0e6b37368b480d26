package dev.vigil.transforms.spec;

/**
 * One feature of a spec.
 *
 * @param name unique feature name (the output column)
 * @param entity the entity it is keyed by, e.g. {@code card}
 * @param aggregation what it computes
 * @param field the source field it reads, or null for count and time_since_*
 * @param windowMillis the window length, or 0 for lifetime
 * @param resolutionMillis the tail resolution (tile size), or 0 for lifetime
 */
public record FeatureDef(
    String name,
    String entity,
    Aggregation aggregation,
    String field,
    long windowMillis,
    long resolutionMillis) implements java.io.Serializable {

  public boolean lifetime() {
    return windowMillis == 0;
  }

  /** The start of the window for an event at {@code t}: {@code floor_r(t − W)}. */
  public long windowStart(long t) {
    return Math.floorDiv(t - windowMillis, resolutionMillis) * resolutionMillis;
  }
}
