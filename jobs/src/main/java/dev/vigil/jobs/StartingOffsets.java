package dev.vigil.jobs;

import java.io.Serializable;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.kafka.clients.consumer.OffsetResetStrategy;

/**
 * Where the source starts when the job does not restore from a checkpoint or savepoint (a restored
 * job always continues from the offsets in its state).
 *
 * @param mode committed, earliest, latest or timestamp
 * @param timestamp for {@code timestamp}: the first record at or after this time (the savepoint
 *     cut-over of a bootstrapped state); otherwise null
 */
public record StartingOffsets(Mode mode, Instant timestamp) implements Serializable {

  public enum Mode {
    /** The consumer group's committed offsets; the earliest where the group has none. */
    COMMITTED,
    EARLIEST,
    LATEST,
    TIMESTAMP
  }

  public static final String ALLOWED =
      "committed, earliest, latest, or an ISO-8601 instant (e.g. 2026-03-01T00:00:00Z)";

  /** Parses {@code committed | earliest | latest | <ISO-8601 instant>}. */
  public static StartingOffsets parse(String text) {
    String t = text.strip();
    switch (t) {
      case "committed":
        return new StartingOffsets(Mode.COMMITTED, null);
      case "earliest":
        return new StartingOffsets(Mode.EARLIEST, null);
      case "latest":
        return new StartingOffsets(Mode.LATEST, null);
      default:
        try {
          return new StartingOffsets(Mode.TIMESTAMP, Instant.parse(t));
        } catch (DateTimeParseException e) {
          throw new IllegalArgumentException("'" + text + "' is not one of " + ALLOWED);
        }
    }
  }

  public OffsetsInitializer initializer() {
    return switch (mode) {
      case COMMITTED -> OffsetsInitializer.committedOffsets(OffsetResetStrategy.EARLIEST);
      case EARLIEST -> OffsetsInitializer.earliest();
      case LATEST -> OffsetsInitializer.latest();
      case TIMESTAMP -> OffsetsInitializer.timestamp(timestamp.toEpochMilli());
    };
  }

  @Override
  public String toString() {
    return mode == Mode.TIMESTAMP ? timestamp.toString() : mode.name().toLowerCase(java.util.Locale.ROOT);
  }
}
