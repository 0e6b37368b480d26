package dev.vigil.jobs;

import dev.vigil.transforms.flink.FeaturePipeline;
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
 * spec present and not empty, the event id ({@value FeaturePipeline#ID_FIELD}, when the source has
 * it) present and not blank, an event time from 2000-01-01 up to the wall clock plus a tolerance,
 * and a non-negative amount. Plain Java, no Flink.
 */
public final class RecordValidator implements Serializable {
  private static final long serialVersionUID = 1L;

  /** The earliest event time accepted: 2000-01-01T00:00:00Z. */
  public static final long EARLIEST_EVENT_TIME = Instant.parse("2000-01-01T00:00:00Z").toEpochMilli();

  /** The amount field of the Transaction contract; checked when the source has it. */
  public static final String AMOUNT_FIELD = "amount_cents";

  /**
   * The largest magnitude of a value in an integer field that a feature sums (or averages): 2^43
   * (8,796,093,022,208; in cents, 87 billion). A window's exact long sum cannot overflow unless
   * more than 2^20 (1,048,576) such extreme values of one key fall into one window; a value past it
   * is refused (dead letter {@code value_out_of_range}), never wrapped around into a wrong sum.
   */
  public static final long MAX_SUMMED_MAGNITUDE = 1L << 43;

  /** A failed check: the dead-letter reason and what was wrong. */
  public record Problem(String reason, String message) {}

  private final List<String> entities = new ArrayList<>();
  private final List<String> keyFields = new ArrayList<>();
  private final List<Integer> keyPositions = new ArrayList<>();
  private final int timePos;
  private final String timeField;
  private final int amountPos;
  private final int idPos;
  private final List<String> summedFields = new ArrayList<>();
  private final List<Integer> summedPositions = new ArrayList<>();
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
    for (var f : spec.spec().features()) {
      boolean sums = f.aggregation() == dev.vigil.transforms.spec.Aggregation.SUM
          || f.aggregation() == dev.vigil.transforms.spec.Aggregation.MEAN;
      CompiledSpec.FieldRef field = f.field() == null ? null : spec.featureField(f.name());
      if (sums && field != null && field.kind() == CompiledSpec.ValueKind.LONG
          && !summedFields.contains(field.name())) {
        summedFields.add(field.name());
        summedPositions.add(field.position());
      }
    }
    Schema.Field id = spec.schema().getField(FeaturePipeline.ID_FIELD);
    idPos = id == null ? -1 : id.pos();
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
    if (idPos >= 0) {
      // A blank id would be one event id for dedupe: every later event of its keys with a blank
      // id would be dropped as its duplicate for the whole dedupe horizon.
      Object id = record.get(idPos);
      if (id == null || id.toString().isBlank()) {
        return new Problem(DeadLetters.MISSING_EVENT_ID, "field '" + FeaturePipeline.ID_FIELD
            + "' is " + (id == null ? "null" : "blank '" + id + "'")
            + "; every event needs its own id (dedupe drops a repeated one)");
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
    for (int i = 0; i < summedPositions.size(); i++) {
      if (record.get(summedPositions.get(i)) instanceof Number n
          && (n.longValue() > MAX_SUMMED_MAGNITUDE || n.longValue() < -MAX_SUMMED_MAGNITUDE)) {
        return new Problem(DeadLetters.VALUE_OUT_OF_RANGE, "field '" + summedFields.get(i)
            + "' is " + n + ", beyond ±" + MAX_SUMMED_MAGNITUDE + " (2^43), the largest value a"
            + " feature sums: past it a window's sum could overflow");
      }
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
