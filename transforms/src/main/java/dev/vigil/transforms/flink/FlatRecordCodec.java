package dev.vigil.transforms.flink;

import java.io.IOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import org.apache.avro.LogicalType;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.util.Utf8;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * Writes and reads a flat record (scalar fields: string, long, int, double, float, boolean, enum,
 * timestamp-millis, and nullable unions of those) field by field, for {@link
 * FeatureEventSerializer}. Records cross the network between feature stages on every event; the
 * Avro datum reader resolves each field through its generic machinery, this runs a plan built
 * once from the schema. It produces the same Java values as Avro's reader with the record's {@code
 * SpecificData} would: the specific class when there is one, {@code String} or {@code Utf8} as the
 * schema's {@code avro.java.string} says, {@code Instant} where the class converts timestamps,
 * the enum class's constants. {@link #forSchema} returns null for any other schema, which then
 * goes through Avro.
 */
final class FlatRecordCodec {
  private enum Kind { STRING, UTF8, LONG, INSTANT, INT, DOUBLE, FLOAT, BOOLEAN, ENUM }

  private final Schema schema;
  private final GenericData data;
  private final Kind[] kinds;
  private final boolean[] nullable;
  /** Per enum field, its values by ordinal as the reader creates them. */
  private final Object[][] symbols;
  private final Schema[] enumSchemas;
  /** The record class's no-argument constructor, null for generic records or when it has none. */
  private final MethodHandle constructor;
  private byte[] scratch = new byte[64];

  private FlatRecordCodec(Schema schema, GenericData data, Kind[] kinds, boolean[] nullable,
      Object[][] symbols, Schema[] enumSchemas, MethodHandle constructor) {
    this.constructor = constructor;
    this.schema = schema;
    this.data = data;
    this.kinds = kinds;
    this.nullable = nullable;
    this.symbols = symbols;
    this.enumSchemas = enumSchemas;
  }

  /** The codec of {@code schema} read with {@code data}, or null when a field is not flat. */
  static FlatRecordCodec forSchema(Schema schema, GenericData data) {
    if (schema.getType() != Schema.Type.RECORD) {
      return null;
    }
    List<Schema.Field> fields = schema.getFields();
    int n = fields.size();
    Kind[] kinds = new Kind[n];
    boolean[] nullable = new boolean[n];
    Object[][] symbols = new Object[n][];
    Schema[] enumSchemas = new Schema[n];
    IndexedRecord probe = (IndexedRecord) data.newRecord(null, schema);
    // A specific class's own schema says which strings it keeps as String (its put() converts
    // the others): read those as String directly instead of as Utf8 converted on put.
    Schema classSchema = probe instanceof GenericData.Record ? null : probe.getSchema();
    for (int i = 0; i < n; i++) {
      Schema s = fields.get(i).schema();
      Schema own = classSchema != null && classSchema.getFields().size() > i
          && classSchema.getFields().get(i).name().equals(fields.get(i).name())
          ? classSchema.getFields().get(i).schema() : null;
      if (own != null && own.getType() == Schema.Type.UNION && own.getTypes().size() == 2) {
        own = own.getTypes().get(1);
      }
      if (s.getType() == Schema.Type.UNION) {
        List<Schema> branches = s.getTypes();
        if (branches.size() != 2 || branches.get(0).getType() != Schema.Type.NULL) {
          return null; // only ["null", T], Avro's usual optional field
        }
        nullable[i] = true;
        s = branches.get(1);
      }
      LogicalType logical = s.getLogicalType();
      Kind kind = switch (s.getType()) {
        case STRING -> "String".equals(s.getProp(GenericData.STRING_PROP))
            || (own != null && "String".equals(own.getProp(GenericData.STRING_PROP)))
            ? Kind.STRING : Kind.UTF8;
        case LONG -> logical == null ? Kind.LONG
            : logical instanceof LogicalTypes.TimestampMillis ? Kind.INSTANT : null;
        case INT -> logical == null ? Kind.INT : null;
        case DOUBLE -> Kind.DOUBLE;
        case FLOAT -> Kind.FLOAT;
        case BOOLEAN -> Kind.BOOLEAN;
        case ENUM -> Kind.ENUM;
        default -> null;
      };
      if (kind == null || (kind != Kind.INSTANT && logical != null)) {
        return null;
      }
      if (kind == Kind.INSTANT && !convertsTimestamps(data, probe, i, s)) {
        kind = Kind.LONG; // a generic record keeps the raw long
      }
      if (kind == Kind.ENUM) {
        Schema e = s;
        enumSchemas[i] = e;
        symbols[i] = e.getEnumSymbols().stream().map(sym -> data.createEnum(sym, e)).toArray();
      }
      kinds[i] = kind;
    }
    MethodHandle constructor = null;
    if (classSchema != null) {
      try {
        constructor = MethodHandles.publicLookup()
            .findConstructor(probe.getClass(), MethodType.methodType(void.class))
            .asType(MethodType.methodType(Object.class));
      } catch (ReflectiveOperationException e) {
        constructor = null; // data.newRecord then
      }
    }
    return new FlatRecordCodec(schema, data, kinds, nullable, symbols, enumSchemas, constructor);
  }

  /** Whether the reader turns field {@code i}'s timestamp-millis into an {@code Instant}. */
  private static boolean convertsTimestamps(GenericData data, IndexedRecord probe, int i, Schema s) {
    if (probe instanceof org.apache.avro.specific.SpecificRecordBase specific) {
      return specific.getConversion(i) != null;
    }
    return data.getConversionFor(s.getLogicalType()) != null;
  }

  void write(IndexedRecord r, DataOutputView out) throws IOException {
    for (int i = 0; i < kinds.length; i++) {
      Object v = r.get(i);
      if (nullable[i]) {
        out.writeBoolean(v != null);
        if (v == null) {
          continue;
        }
      } else if (v == null) {
        throw new IOException("field '" + schema.getFields().get(i).name() + "' of "
            + schema.getFullName() + " is null but not optional");
      }
      switch (kinds[i]) {
        case STRING, UTF8 -> writeString(v, out);
        case LONG -> out.writeLong(((Number) v).longValue());
        case INSTANT -> out.writeLong(v instanceof Instant t ? t.toEpochMilli() : ((Number) v).longValue());
        case INT -> out.writeInt(((Number) v).intValue());
        case DOUBLE -> out.writeDouble(((Number) v).doubleValue());
        case FLOAT -> out.writeFloat(((Number) v).floatValue());
        case BOOLEAN -> out.writeBoolean((Boolean) v);
        case ENUM -> out.writeShort(v instanceof Enum<?> e ? e.ordinal()
            : enumSchemas[i].getEnumOrdinal(v.toString()));
      }
    }
  }

  private static void writeString(Object v, DataOutputView out) throws IOException {
    if (v instanceof Utf8 u) {
      out.writeInt(u.getByteLength());
      out.write(u.getBytes(), 0, u.getByteLength());
    } else {
      byte[] b = v.toString().getBytes(StandardCharsets.UTF_8);
      out.writeInt(b.length);
      out.write(b);
    }
  }

  IndexedRecord read(DataInputView in) throws IOException {
    IndexedRecord r = newRecord();
    for (int i = 0; i < kinds.length; i++) {
      if (nullable[i] && !in.readBoolean()) {
        r.put(i, null);
        continue;
      }
      r.put(i, switch (kinds[i]) {
        case STRING -> readString(in);
        case UTF8 -> new Utf8(readBytes(in));
        case LONG -> in.readLong();
        case INSTANT -> Instant.ofEpochMilli(in.readLong());
        case INT -> in.readInt();
        case DOUBLE -> in.readDouble();
        case FLOAT -> in.readFloat();
        case BOOLEAN -> in.readBoolean();
        case ENUM -> symbols[i][in.readShort()];
      });
    }
    return r;
  }

  private IndexedRecord newRecord() {
    if (constructor == null) {
      return (IndexedRecord) data.newRecord(null, schema);
    }
    try {
      return (IndexedRecord) (Object) constructor.invokeExact();
    } catch (Throwable t) {
      throw new IllegalStateException("cannot create a " + schema.getFullName() + " record", t);
    }
  }

  private String readString(DataInputView in) throws IOException {
    int n = in.readInt();
    if (scratch.length < n) {
      scratch = new byte[Math.max(n, scratch.length * 2)];
    }
    in.readFully(scratch, 0, n);
    return new String(scratch, 0, n, StandardCharsets.UTF_8);
  }

  private static byte[] readBytes(DataInputView in) throws IOException {
    byte[] b = new byte[in.readInt()];
    in.readFully(b);
    return b;
  }
}
