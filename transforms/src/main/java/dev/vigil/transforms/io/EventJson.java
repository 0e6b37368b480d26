package dev.vigil.transforms.io;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.Serializable;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
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
 *
 * <p>Two paths, one behaviour: a line is read with Jackson's streaming parser against a plan of the
 * schema's fields made once (no tree, no per-event schema walk, timestamps of the form {@code
 * yyyy-MM-ddTHH:mm:ss[.SSS]Z} converted without {@link Instant#parse}). Anything that path does not
 * take as it is (a type mismatch, a missing required field, an unknown field, malformed JSON,
 * another timestamp form) is read again by the tree-model path, which gives the record or the
 * error message: so bad input is reported exactly as before, and the fast path only has to be
 * right about well-formed events (tested against the tree path).
 */
public final class EventJson implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final ObjectMapper JSON = new ObjectMapper();
  public static final DateTimeFormatter ISO_MILLIS =
      DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private final String schemaJson;
  private transient Schema schema;
  private transient Plan plan;

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
    IndexedRecord fast = parseFast(line);
    return fast != null ? fast : parseTree(line);
  }

  /** The streaming path alone: the record, or null where {@link #parse} falls back (tests). */
  IndexedRecord parseFast(String line) {
    if (plan == null) {
      plan = new Plan(schema());
    }
    return plan.read(line);
  }

  /** The tree-model reading of {@link #parse}: every case, and every error message. */
  IndexedRecord parseTree(String line) throws BadEventException {
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

  // ------------------------------------------------------------------------------------------
  // The streaming path.

  private enum Kind { STRING, LONG, TIMESTAMP, INT, DOUBLE, FLOAT, BOOLEAN, ENUM, OTHER }

  /** One field as the streaming path reads it. */
  private static final class FieldPlan {
    final int pos;
    final Kind kind;
    final boolean nullable;
    /** Enum symbol to value (specific enum constant or generic symbol). */
    final Map<String, Object> symbols = new HashMap<>();

    FieldPlan(int pos, Kind kind, boolean nullable) {
      this.pos = pos;
      this.kind = kind;
      this.nullable = nullable;
    }
  }

  /** The schema's fields by name, and how to build a record; reads a line or gives up (null). */
  private static final class Plan {
    final Schema schema;
    final SpecificData data;
    final boolean specific;
    final Map<String, FieldPlan> byName = new HashMap<>();
    final FieldPlan[] fields;
    final long allSeen;

    Plan(Schema schema) {
      this.schema = schema;
      this.data = SpecificData.getForSchema(schema);
      this.specific = data.newRecord(null, schema) instanceof SpecificRecord;
      List<Schema.Field> list = schema.getFields();
      this.fields = new FieldPlan[list.size()];
      for (Schema.Field f : list) {
        Schema t = f.schema();
        boolean nullable = false;
        if (t.getType() == Schema.Type.UNION) {
          List<Schema> nonNull = t.getTypes().stream()
              .filter(b -> b.getType() != Schema.Type.NULL).toList();
          nullable = nonNull.size() < t.getTypes().size();
          t = nonNull.size() == 1 ? nonNull.get(0) : null;
        }
        Kind kind = t == null ? Kind.OTHER : switch (t.getType()) {
          case STRING -> Kind.STRING;
          case LONG -> t.getLogicalType() instanceof LogicalTypes.TimestampMillis
              ? Kind.TIMESTAMP : Kind.LONG;
          case INT -> Kind.INT;
          case DOUBLE -> Kind.DOUBLE;
          case FLOAT -> Kind.FLOAT;
          case BOOLEAN -> Kind.BOOLEAN;
          case ENUM -> Kind.ENUM;
          default -> Kind.OTHER;
        };
        FieldPlan fp = new FieldPlan(f.pos(), kind, nullable);
        if (kind == Kind.ENUM) {
          for (String symbol : t.getEnumSymbols()) {
            fp.symbols.put(symbol, data.createEnum(symbol, t));
          }
        }
        fields[f.pos()] = fp;
        byName.put(f.name(), fp);
      }
      this.allSeen = fields.length >= 64 ? 0 : (1L << fields.length) - 1;
    }

    /** The record, or null when the tree path must read the line (to build it or to say why not). */
    IndexedRecord read(String line) {
      if (allSeen == 0) {
        return null; // 64 fields or more: not worth a bit set
      }
      try (JsonParser p = JSON.getFactory().createParser(line)) {
        if (p.nextToken() != JsonToken.START_OBJECT) {
          return null;
        }
        IndexedRecord record = (IndexedRecord) data.newRecord(null, schema);
        long seen = 0;
        String name;
        while ((name = p.nextFieldName()) != null) {
          FieldPlan f = byName.get(name);
          if (f == null) {
            return null;
          }
          JsonToken t = p.nextToken();
          Object v;
          if (t == JsonToken.VALUE_NULL) {
            if (!f.nullable) {
              return null;
            }
            v = null;
          } else {
            v = switch (f.kind) {
              case STRING -> t == JsonToken.VALUE_STRING ? p.getText() : null;
              case LONG -> t == JsonToken.VALUE_NUMBER_INT
                  && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER ? p.getLongValue() : null;
              case TIMESTAMP -> {
                long millis;
                if (t == JsonToken.VALUE_STRING) {
                  millis = isoMillis(p.getText());
                  if (millis == Long.MIN_VALUE) {
                    yield null;
                  }
                } else if (t == JsonToken.VALUE_NUMBER_INT
                    && p.getNumberType() != JsonParser.NumberType.BIG_INTEGER) {
                  millis = p.getLongValue();
                } else {
                  yield null;
                }
                yield specific ? Instant.ofEpochMilli(millis) : (Object) millis;
              }
              case INT -> t == JsonToken.VALUE_NUMBER_INT
                  && p.getNumberType() == JsonParser.NumberType.INT ? p.getIntValue() : null;
              case DOUBLE -> t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT
                  ? p.getDoubleValue() : null;
              case FLOAT -> t == JsonToken.VALUE_NUMBER_INT || t == JsonToken.VALUE_NUMBER_FLOAT
                  ? (float) p.getDoubleValue() : null;
              case BOOLEAN -> t == JsonToken.VALUE_TRUE ? Boolean.TRUE
                  : t == JsonToken.VALUE_FALSE ? Boolean.FALSE : null;
              case ENUM -> t == JsonToken.VALUE_STRING ? f.symbols.get(p.getText()) : null;
              case OTHER -> null;
            };
            if (v == null) {
              return null;
            }
          }
          record.put(f.pos, v);
          seen |= 1L << f.pos;
        }
        if (seen != allSeen) {
          for (FieldPlan f : fields) {
            if ((seen & (1L << f.pos)) == 0) {
              if (!f.nullable) {
                return null; // a default to copy or a required field missing
              }
              record.put(f.pos, null);
            }
          }
        }
        return record;
      } catch (java.io.IOException | RuntimeException e) {
        return null;
      }
    }
  }

  private static final int[] DAYS_BEFORE_MONTH = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};

  /**
   * Epoch millis of {@code yyyy-MM-ddTHH:mm:ssZ} or {@code yyyy-MM-ddTHH:mm:ss.SSSZ} (years 1970 to
   * 9999), or {@link Long#MIN_VALUE} for anything else (left to {@link Instant#parse}).
   */
  static long isoMillis(String s) {
    int n = s.length();
    if ((n != 20 && n != 24) || s.charAt(4) != '-' || s.charAt(7) != '-' || s.charAt(10) != 'T'
        || s.charAt(13) != ':' || s.charAt(16) != ':' || s.charAt(n - 1) != 'Z'
        || (n == 24 && s.charAt(19) != '.')) {
      return Long.MIN_VALUE;
    }
    int year = digits(s, 0, 4);
    int month = digits(s, 5, 2);
    int day = digits(s, 8, 2);
    int hour = digits(s, 11, 2);
    int minute = digits(s, 14, 2);
    int second = digits(s, 17, 2);
    int millis = n == 24 ? digits(s, 20, 3) : 0;
    if (year < 1970 || month < 1 || month > 12 || day < 1 || hour < 0 || hour > 23 || minute < 0
        || minute > 59 || second < 0 || second > 59 || millis < 0) {
      return Long.MIN_VALUE;
    }
    boolean leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    int monthDays = month == 2 ? (leap ? 29 : 28) : (month == 4 || month == 6 || month == 9 || month == 11) ? 30 : 31;
    if (day > monthDays) {
      return Long.MIN_VALUE;
    }
    long y = year - 1;
    long days = 365L * (year - 1970) + (y / 4 - y / 100 + y / 400) - (1969 / 4 - 1969 / 100 + 1969 / 400)
        + DAYS_BEFORE_MONTH[month - 1] + (month > 2 && leap ? 1 : 0) + day - 1;
    return ((days * 24 + hour) * 60 + minute) * 60_000L + second * 1000L + millis;
  }

  /** The number in {@code s[from, from + count)}, or a negative one if a character is not a digit. */
  private static int digits(String s, int from, int count) {
    int v = 0;
    for (int i = from; i < from + count; i++) {
      char c = s.charAt(i);
      if (c < '0' || c > '9') {
        return -1 << 20;
      }
      v = v * 10 + (c - '0');
    }
    return v;
  }

  /** The generic record model that matches what {@link #parse} builds. */
  public GenericData data() {
    return SpecificData.getForSchema(schema());
  }
}
