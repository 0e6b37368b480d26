package dev.vigil.transforms.spec;

import dev.vigil.transforms.engine.EntityEngine;
import java.io.IOException;
import java.io.InputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;

/**
 * A spec checked against the source's Avro schema: every field a feature reads exists and has a
 * type its aggregation can use, so data the stream does not carry is refused on day one. Holds
 * the field positions the engine reads by. Operators get {@link EntityEngine}s built from it,
 * not the spec itself.
 */
public final class CompiledSpec {

  /** The subject whose schema ships with Vigil ({@code schemas/src/main/avro/Transaction.avsc}). */
  public static final String BUNDLED_SUBJECT = "payments.transactions-value";

  /** How a field's values are read. */
  public enum ValueKind {
    LONG,
    DOUBLE,
    STRING,
    BOOLEAN
  }

  /** Where and how one source field is read. */
  public record FieldRef(String name, int position, ValueKind kind, boolean nullable)
      implements Serializable {}

  private final FeatureSpec spec;
  private final String schemaJson;
  private transient Schema schema;
  private final FieldRef eventTime;
  private final Map<String, FieldRef> entityKeys;
  private final Map<String, FieldRef> featureFields;

  private CompiledSpec(
      FeatureSpec spec,
      Schema schema,
      FieldRef eventTime,
      Map<String, FieldRef> entityKeys,
      Map<String, FieldRef> featureFields) {
    this.spec = spec;
    this.schema = schema;
    this.schemaJson = schema.toString();
    this.eventTime = eventTime;
    this.entityKeys = entityKeys;
    this.featureFields = featureFields;
  }

  /** Loads the spec and its source schema ({@code source.schema}, else the bundled one). */
  public static CompiledSpec load(Path specFile) throws SpecException {
    FeatureSpec spec = FeatureSpec.load(specFile);
    return compile(spec, sourceSchema(spec, specFile.toString()), specFile.toString());
  }

  /** The source schema a spec names: its {@code source.schema} file or the bundled schema. */
  public static Schema sourceSchema(FeatureSpec spec, String where) throws SpecException {
    if (spec.schemaPath() != null) {
      try {
        return new Schema.Parser().parse(Files.readString(spec.schemaPath()));
      } catch (IOException | RuntimeException e) {
        throw new SpecException(where, List.of("source: key 'schema': cannot read Avro schema "
            + spec.schemaPath() + ": " + e.getMessage()));
      }
    }
    if (!BUNDLED_SUBJECT.equals(spec.sourceSubject())) {
      throw new SpecException(where, List.of("source: subject '" + spec.sourceSubject()
          + "' has no bundled schema (only " + BUNDLED_SUBJECT + " has); add 'schema:"
          + " path/to/schema.avsc' under 'source'"));
    }
    try (InputStream in = CompiledSpec.class.getResourceAsStream("/avro/Transaction.avsc")) {
      return new Schema.Parser().parse(in);
    } catch (IOException e) {
      throw new IllegalStateException("bundled Transaction.avsc missing from the classpath", e);
    }
  }

  /** Checks {@code spec} against {@code schema}; every problem is reported at once. */
  public static CompiledSpec compile(FeatureSpec spec, Schema schema, String where)
      throws SpecException {
    List<String> problems = new ArrayList<>();
    if (schema.getType() != Schema.Type.RECORD) {
      throw new SpecException(where, List.of("the source schema must be a record, is "
          + schema.getType()));
    }
    FieldRef eventTime = field(schema, spec.eventTimeField(), problems, "source: key 'event_time'");
    if (eventTime != null && (eventTime.kind() != ValueKind.LONG || eventTime.nullable())) {
      problems.add("source: key 'event_time': field '" + spec.eventTimeField()
          + "' must be a non-null long (timestamp-millis), is "
          + typeName(schema.getField(spec.eventTimeField()).schema()));
    }
    Map<String, FieldRef> keys = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : spec.entities().entrySet()) {
      FieldRef key = field(schema, e.getValue(), problems, "entity '" + e.getKey() + "'");
      if (key != null) {
        if (key.kind() != ValueKind.STRING) {
          problems.add("entity '" + e.getKey() + "': key field '" + e.getValue()
              + "' must be a string, is " + typeName(schema.getField(e.getValue()).schema()));
        }
        keys.put(e.getKey(), key);
      }
    }
    Map<String, FieldRef> fields = new LinkedHashMap<>();
    for (FeatureDef f : spec.features()) {
      if (f.field() == null) {
        continue;
      }
      String label = "feature '" + f.name() + "': key 'field'";
      FieldRef ref = field(schema, f.field(), problems, label);
      if (ref == null) {
        continue;
      }
      if (f.aggregation().numeric()
          && ref.kind() != ValueKind.LONG && ref.kind() != ValueKind.DOUBLE) {
        problems.add(label + ": " + f.aggregation().specName() + " needs a numeric field (int,"
            + " long, float, double), but '" + f.field() + "' is "
            + typeName(schema.getField(f.field()).schema()));
        continue;
      }
      fields.put(f.name(), ref);
    }
    if (!problems.isEmpty()) {
      throw new SpecException(where + " (against schema " + schema.getFullName() + ")", problems);
    }
    return new CompiledSpec(spec, schema, eventTime, keys, fields);
  }

  private static FieldRef field(Schema schema, String name, List<String> problems, String label) {
    Schema.Field field = schema.getField(name);
    if (field == null) {
      List<String> names = schema.getFields().stream().map(Schema.Field::name).toList();
      problems.add(label + ": the source stream has no field '" + name
          + "' (data not available at inference time); fields: " + String.join(", ", names));
      return null;
    }
    Schema type = field.schema();
    boolean nullable = false;
    if (type.getType() == Schema.Type.UNION) {
      List<Schema> nonNull = type.getTypes().stream()
          .filter(s -> s.getType() != Schema.Type.NULL).toList();
      if (nonNull.size() != 1) {
        problems.add(label + ": field '" + name + "' is a union of several types ("
            + typeName(type) + "); only a nullable single type can be read");
        return null;
      }
      nullable = nonNull.size() < type.getTypes().size();
      type = nonNull.get(0);
    }
    ValueKind kind =
        switch (type.getType()) {
          case INT, LONG -> ValueKind.LONG;
          case FLOAT, DOUBLE -> ValueKind.DOUBLE;
          case STRING, ENUM -> ValueKind.STRING;
          case BOOLEAN -> ValueKind.BOOLEAN;
          default -> null;
        };
    if (kind == null) {
      problems.add(label + ": field '" + name + "' is " + typeName(type)
          + "; features read scalar fields (int, long, float, double, string, enum, boolean)");
      return null;
    }
    return new FieldRef(name, field.pos(), kind, nullable);
  }

  private static String typeName(Schema s) {
    if (s.getType() == Schema.Type.UNION) {
      return s.getTypes().stream().map(CompiledSpec::typeName).toList().toString();
    }
    return s.getLogicalType() != null ? s.getType().getName() + " (" + s.getLogicalType().getName()
        + ")" : s.getType().getName();
  }

  public FeatureSpec spec() {
    return spec;
  }

  public Schema schema() {
    if (schema == null) {
      schema = new Schema.Parser().parse(schemaJson);
    }
    return schema;
  }

  public FieldRef eventTime() {
    return eventTime;
  }

  public FieldRef entityKey(String entity) {
    return entityKeys.get(entity);
  }

  /** The field a feature reads, or null for count and time_since_*. */
  public FieldRef featureField(String feature) {
    return featureFields.get(feature);
  }

  /** One engine per entity that has features, in spec order. */
  public List<EntityEngine> engines() {
    List<EntityEngine> engines = new ArrayList<>();
    for (String entity : spec.activeEntities()) {
      engines.add(EntityEngine.forEntity(this, entity));
    }
    return engines;
  }
}
