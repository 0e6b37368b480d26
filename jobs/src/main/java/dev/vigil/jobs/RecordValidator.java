package dev.vigil.jobs;

import dev.vigil.transforms.spec.CompiledSpec;
import java.io.Serializable;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.IndexedRecord;

/**
 * The checks a decoded record passes before it reaches the feature stages: every entity key of the
 * spec present and not empty, an event time from 2000-01-01 up to the wall clock plus a tolerance,
 * and a non-negative amount. Plain Java, no Flink.
 */
public final class RecordValidator implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The earliest event time accepted: 2000-01-01T00:00:00Z. */
  public static final long EARLIEST_EVENT_TIME = Instant.parse("2000-01-01T00:00:00Z").toEpochMilli();

  /** The amount field of the Transaction contract; checked when the source has it. */
  public static final String AMOUNT_FIELD = "amount_cents";

  /** A failed check: the dead-letter reason and what was wrong. */
  public record Problem(String reason, String message) {}

  private final List<String> entities = new ArrayList<>();
  private final List<String> keyFields = new ArrayList<>();
  private final List<Integer> keyPositions = new ArrayList<>();
  private final int timePos;
  private final String timeField;
  private final int amountPos;
  private final long futureToleranceMillis;

  public RecordValidator(CompiledSpec spec, Duration futureTolerance) {
    for (Map.Entry<String, String> e : spec.spec().entities().entrySet()) {
      if (!spec.spec().featuresOf(e.getKey()).isEmpty()) {
        entities.add(e.getKey());
        keyFields.add(e.getValue());
        keyPositions.add(spec.entityKey(e.getKey()).position());
      }
    }
    timePos = spec.eventTime().position();
    timeField = spec.eventTime().name();
    Schema.Field amount = spec.schema().getField(AMOUNT_FIELD);
    amountPos = amount == null ? -1 : amount.pos();
    futureToleranceMillis = futureTolerance.toMillis();
  }

  /** The first problem of {@code record} at wall-clock time {@code nowMillis}, or null. */
  public Problem check(IndexedRecord record, long nowMillis) {
    for (int i = 0; i < keyPositions.size(); i++) {
      Object key = record.get(keyPositions.get(i));
      if (key == null || key.toString().isEmpty()) {
        return new Problem(DeadLetters.MISSING_ENTITY_KEY, "entity '" + entities.get(i)
            + "': key field '" + keyFields.get(i) + "' is " + (key == null ? "null" : "empty"));
      }
    }
    Object t = record.get(timePos);
    long time = t instanceof Instant i ? i.toEpochMilli() : ((Number) t).longValue();
    if (time < EARLIEST_EVENT_TIME) {
      return new Problem(DeadLetters.EVENT_TIME_OUT_OF_RANGE, "field '" + timeField + "' "
          + Instant.ofEpochMilli(time) + " is before 2000-01-01T00:00:00Z");
    }
    if (time > nowMillis + futureToleranceMillis) {
      return new Problem(DeadLetters.EVENT_TIME_OUT_OF_RANGE, "field '" + timeField + "' "
          + Instant.ofEpochMilli(time) + " is more than " + futureToleranceMillis
          + " ms after the wall clock (" + Instant.ofEpochMilli(nowMillis) + ")");
    }
    if (amountPos >= 0) {
      Object a = record.get(amountPos);
      if (a instanceof Number n && n.doubleValue() < 0) {
        return new Problem(DeadLetters.NEGATIVE_AMOUNT, "field '" + AMOUNT_FIELD + "' is " + a
            + "; amounts are never negative");
      }
    }
    return null;
  }
}
