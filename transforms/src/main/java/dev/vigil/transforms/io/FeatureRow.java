package dev.vigil.transforms.io;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import java.io.IOException;
import java.io.Serializable;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * The feature vector of one event: its id, time and every feature of the spec (spec order), as
 * known just before the event.
 *
 * @param transactionId the event's id ({@code transaction_id}), or null if the source has none
 * @param eventTime epoch millis
 * @param values one per spec feature, in spec order: Long, Double, String, Boolean or null
 */
public record FeatureRow(String transactionId, long eventTime, Object[] values) implements Serializable {
  private static final JsonFactory JSON = new JsonFactory();

  /**
   * One JSON line: {@code {"transaction_id":…,"event_time":"…","features":{name: value, …}}}.
   * Identical values give identical text, so outputs of different runs compare byte for byte.
   */
  public String toJson(List<String> featureNames) {
    StringWriter out = new StringWriter(128);
    try (JsonGenerator g = JSON.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("transaction_id", transactionId);
      g.writeStringField("event_time", EventJson.ISO_MILLIS.format(Instant.ofEpochMilli(eventTime)));
      g.writeObjectFieldStart("features");
      for (int i = 0; i < values.length; i++) {
        g.writeFieldName(featureNames.get(i));
        Object v = values[i];
        if (v == null) {
          g.writeNull();
        } else if (v instanceof Long l) {
          g.writeNumber(l);
        } else if (v instanceof Double d) {
          g.writeNumber(d);
        } else if (v instanceof Boolean b) {
          g.writeBoolean(b);
        } else {
          g.writeString(v.toString());
        }
      }
      g.writeEndObject();
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toString();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FeatureRow r
        && java.util.Objects.equals(transactionId, r.transactionId)
        && eventTime == r.eventTime
        && Arrays.equals(values, r.values);
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(transactionId, eventTime, Arrays.hashCode(values));
  }

  @Override
  public String toString() {
    return "FeatureRow[" + transactionId + ", " + eventTime + ", " + Arrays.toString(values) + "]";
  }
}
