package dev.vigil.transforms.engine;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A readable view of one key's feature state ({@link EntityEngine#describe}): what the compact
 * {@code byte[]} holds, for tests, debugging and state inspection.
 *
 * @param entity the entity, e.g. {@code card}
 * @param newestMillis the newest event time seen for the key, null for an empty state
 * @param pending events at the newest millisecond not yet folded into the tiles
 * @param lastEventMillis the time of the latest folded event, null if none
 * @param lastValues the {@code last} features' values of that event
 * @param tiles per feature with tiles, its tiles oldest first (one for a lifetime aggregate)
 * @param bytes the encoded size
 */
public record EngineState(
    String entity,
    Long newestMillis,
    int pending,
    Long lastEventMillis,
    Map<String, Object> lastValues,
    Map<String, List<Tile>> tiles,
    int bytes) {

  /**
   * One tile: the aggregate of the key's events from {@code fromMillis} (Long.MIN_VALUE for a
   * lifetime aggregate) for one resolution. {@code value}: count or distinct count (long), sum,
   * min or max (the field's type), mean (double), earliest event (an Instant).
   */
  public record Tile(long fromMillis, Object value) {
    @Override
    public String toString() {
      String from = fromMillis == Long.MIN_VALUE ? "lifetime" : Instant.ofEpochMilli(fromMillis).toString();
      return from + "=" + value;
    }
  }

  /** The number of tiles of {@code feature}. */
  public int tileCount(String feature) {
    List<Tile> t = tiles.get(feature);
    return t == null ? 0 : t.size();
  }
}
