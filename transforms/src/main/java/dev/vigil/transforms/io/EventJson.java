package dev.vigil.transforms.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Iterator;
import java.util.List;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericEnumSymbol;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * Events as JSON lines, one record per line, generic over the source's Avro schema: strings,
 * numbers, booleans, enums by symbol, nullable fields as a plain value or null, timestamp-millis
 * as ISO-8601 UTC ({@code 2026-03-01T12:00:00.123Z}; epoch millis accepted too). Records are
 * built with {@link SpecificData}, so the bundled {@code Transaction} schema yields {@code
 * dev.vigil.avro.Transaction} objects. Thread-confined; Serializable (rebuilds itself).
 */
public final class EventJson implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final DateTimeFormatter ISO_MILLIS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private final String schemaJson;
  private transient Schema schema;

  public EventJson(Schema schema) {
    this.schema = schema;
    this.schemaJson = schema.toString();
  }

  public Schema schema() {
    if (schema == null) {
      schema = new Schema.Parser().parse(schemaJson);
    }
    return schema;
  }

  /** A line that is not a valid event; the message names the field and what was wrong. */
  public static final class BadEventException extends Exception {
    private static final long serialVersionUID = 1L;

    public BadEventException(String message) {
      super(message);
    }
  }

  /** Parses one JSON line into a record of the schema. */
  public IndexedRecord parse(String line) throws BadEventException {
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (JsonProcessingException e) {
      throw new BadEventException("not valid JSON: " + e.getOriginalMessage());
    }
    if (node == null || !node.isObject()) {
      throw new BadEventException("expected a JSON object, one event per line");
    }
    Schema s = schema();
    SpecificData data = SpecificData.getForSchema(s);
    IndexedRecord record = (IndexedRecord) data.newRecord(null, s);
    boolean specific = record instanceof SpecificRecord;
    for (Schema.Field f : s.getFields()) {
      JsonNode v = node.get(f.name());
      record.put(f.pos(), value(v, f.schema(), f, specific, data));
    }
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String name = it.next();
      if (s.getField(name) == null) {
        throw new BadEventException("unknown field '" + name + "'; the schema "
            + s.getFullName() + " has " + s.getFields().stream().map(Schema.Field::name).toList());
      }
    }
    return record;
  }

  private Object value(JsonNode v, Schema type, Schema.Field f, boolean specific, SpecificData data)
      throws BadEventException {
    boolean missing = v == null || v.isNull();
    if (type.getType() == Schema.Type.UNION) {
      if (missing && type.getTypes().stream().anyMatch(b -> b.getType() == Schema.Type.NULL)) {
        return null;
      }
      List<Schema> nonNull = type.getTypes().stream().filter(b -> b.getType() != Schema.Type.NULL).toList();
      if (nonNull.size() == 1) {
        return value(v, nonNull.get(0), f, specific, data);
      }
      throw new BadEventException("field '" + f.name() + "': unions of several types are not"
          + " supported in JSON lines");
    }
    if (missing) {
      if (f.hasDefaultValue() && v == null) {
        return data.deepCopy(f.schema(), data.getDefaultValue(f));
      }
      throw new BadEventException("field '" + f.name() + "' is required (" + type.getType().getName() + ")");
    }
    switch (type.getType()) {
      case STRING:
        if (!v.isTextual()) {
          throw bad(f, "a string", v);
        }
        return v.asText();
      case LONG:
        if (type.getLogicalType() instanceof LogicalTypes.TimestampMillis) {
          long millis;
          if (v.isIntegralNumber()) {
            millis = v.asLong();
          } else if (v.isTextual()) {
            try {
              millis = Instant.parse(v.asText()).toEpochMilli();
            } catch (DateTimeParseException e) {
              throw new BadEventException("field '" + f.name() + "': '" + v.asText()
                  + "' is not an ISO-8601 UTC time like 2026-03-01T12:00:00.123Z");
            }
          } else {
            throw bad(f, "an ISO-8601 UTC time or epoch millis", v);
          }
          return specific ? Instant.ofEpochMilli(millis) : millis;
        }
        if (!v.isIntegralNumber() || !v.canConvertToLong()) {
          throw bad(f, "a whole number", v);
        }
        return v.asLong();
      case INT:
        if (!v.isIntegralNumber() || !v.canConvertToInt()) {
          throw bad(f, "a whole number (int)", v);
        }
        return v.asInt();
      case DOUBLE:
        if (!v.isNumber()) {
          throw bad(f, "a number", v);
        }
        return v.asDouble();
      case FLOAT:
        if (!v.isNumber()) {
          throw bad(f, "a number", v);
        }
        return (float) v.asDouble();
      case BOOLEAN:
        if (!v.isBoolean()) {
          throw bad(f, "true or false", v);
        }
        return v.asBoolean();
      case ENUM:
        if (!v.isTextual() || !type.getEnumSymbols().contains(v.asText())) {
          throw bad(f, "one of " + type.getEnumSymbols(), v);
        }
        return data.createEnum(v.asText(), type);
      default:
        throw new BadEventException("field '" + f.name() + "': type " + type.getType().getName()
            + " is not supported in JSON lines");
    }
  }

  private static BadEventException bad(Schema.Field f, String expected, JsonNode v) {
    String shown = v.toString();
    if (shown.length() > 60) {
      shown = shown.substring(0, 60) + "…";
    }
    return new BadEventException("field '" + f.name() + "' must be " + expected + ", got " + shown);
  }

  /** Writes a record as one JSON line (the format {@link #parse} reads). */
  public String format(IndexedRecord record) {
    ObjectNode node = JSON.createObjectNode();
    for (Schema.Field f : record.getSchema().getFields()) {
      Object v = record.get(f.pos());
      String name = f.name();
      if (v == null) {
        node.putNull(name);
      } else if (v instanceof Instant i) {
        node.put(name, ISO_MILLIS.format(i));
      } else if (v instanceof Long l) {
        Schema t = f.schema().getType() == Schema.Type.UNION ? f.schema().getTypes().stream()
            .filter(b -> b.getType() != Schema.Type.NULL).findFirst().orElseThrow() : f.schema();
        if (t.getLogicalType() instanceof LogicalTypes.TimestampMillis) {
          node.put(name, ISO_MILLIS.format(Instant.ofEpochMilli(l)));
        } else {
          node.put(name, l);
        }
      } else if (v instanceof Integer n) {
        node.put(name, n);
      } else if (v instanceof Double d) {
        node.put(name, d);
      } else if (v instanceof Float d) {
        node.put(name, d);
      } else if (v instanceof Boolean b) {
        node.put(name, b);
      } else if (v instanceof GenericEnumSymbol<?> || v instanceof Enum<?>) {
        node.put(name, v.toString());
      } else {
        node.put(name, v.toString());
      }
    }
    return node.toString();
  }

  /** The generic record model that matches what {@link #parse} builds. */
  public GenericData data() {
    return SpecificData.getForSchema(schema());
  }
}
