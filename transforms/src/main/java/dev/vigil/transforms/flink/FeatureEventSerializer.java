package dev.vigil.transforms.flink;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputView;
import org.apache.flink.core.memory.DataOutputView;

/**
 * A hand-written serializer for {@link FeatureEvent}: the record field by field ({@link
 * FlatRecordCodec}) when its schema is flat, as Avro binary of the source schema otherwise, then
 * the feature values as tagged scalars. No Kryo, no reflection. A flags bit says which form the
 * record has, so events written in the Avro form (in-flight data of an unaligned checkpoint taken
 * before the flat form existed) still read.
 */
public final class FeatureEventSerializer extends TypeSerializer<FeatureEvent> {
  private static final long serialVersionUID = 1L;
  private static final int NULL = 0;
  private static final int LONG = 1;
  private static final int DOUBLE = 2;
  private static final int STRING = 3;
  private static final int TRUE = 4;
  private static final int FALSE = 5;
  // Flags byte before the record.
  private static final int LATE = 1;
  private static final int DUPLICATE = 2;
  private static final int FLAT = 4;

  private final String schemaJson;
  private final int featureCount;
  private transient Schema schema;
  private transient GenericDatumWriter<IndexedRecord> writer;
  private transient GenericDatumReader<IndexedRecord> reader;
  private transient Buffer buffer;
  private transient BinaryEncoder encoder;
  private transient BinaryDecoder decoder;
  /** Null when the schema is not flat. */
  private transient FlatRecordCodec flat;

  public FeatureEventSerializer(String schemaJson, int featureCount) {
    this.schemaJson = schemaJson;
    this.featureCount = featureCount;
  }

  private void init() {
    if (schema == null) {
      schema = new Schema.Parser().parse(schemaJson);
      SpecificData data = SpecificData.getForSchema(schema);
      writer = new GenericDatumWriter<>(schema, data);
      reader = new GenericDatumReader<>(schema, schema, data);
      buffer = new Buffer();
      flat = FlatRecordCodec.forSchema(schema, data);
    }
  }

  @Override
  public boolean isImmutableType() {
    return false;
  }

  @Override
  public TypeSerializer<FeatureEvent> duplicate() {
    return new FeatureEventSerializer(schemaJson, featureCount);
  }

  @Override
  public FeatureEvent createInstance() {
    return new FeatureEvent(null, 0, featureCount);
  }

  @Override
  public FeatureEvent copy(FeatureEvent from) {
    init();
    FeatureEvent to = new FeatureEvent();
    to.event = from.event == null ? null
        : (IndexedRecord) SpecificData.getForSchema(schema).deepCopy(schema, from.event);
    to.seq = from.seq;
    to.values = from.values.clone(); // values are immutable scalars
    to.late = from.late;
    to.duplicate = from.duplicate;
    return to;
  }

  @Override
  public FeatureEvent copy(FeatureEvent from, FeatureEvent reuse) {
    return copy(from);
  }

  @Override
  public int getLength() {
    return -1;
  }

  @Override
  public void serialize(FeatureEvent e, DataOutputView out) throws IOException {
    init();
    out.writeLong(e.seq);
    out.writeByte((e.late ? LATE : 0) | (e.duplicate ? DUPLICATE : 0) | (flat != null ? FLAT : 0));
    if (flat != null) {
      flat.write(e.event, out);
    } else {
      buffer.reset();
      encoder = EncoderFactory.get().binaryEncoder(buffer, encoder);
      writer.write(e.event, encoder);
      encoder.flush();
      out.writeInt(buffer.size());
      out.write(buffer.array(), 0, buffer.size());
    }
    out.writeInt(e.values.length);
    for (Object v : e.values) {
      if (v == null) {
        out.writeByte(NULL);
      } else if (v instanceof Long l) {
        out.writeByte(LONG);
        out.writeLong(l);
      } else if (v instanceof Double d) {
        out.writeByte(DOUBLE);
        out.writeDouble(d);
      } else if (v instanceof Boolean b) {
        out.writeByte(b ? TRUE : FALSE);
      } else {
        out.writeByte(STRING);
        out.writeUTF(v.toString());
      }
    }
  }

  @Override
  public FeatureEvent deserialize(DataInputView in) throws IOException {
    init();
    FeatureEvent e = new FeatureEvent();
    e.seq = in.readLong();
    int flags = in.readByte();
    e.late = (flags & LATE) != 0;
    e.duplicate = (flags & DUPLICATE) != 0;
    if ((flags & FLAT) != 0) {
      if (flat == null) {
        throw new IOException("corrupt FeatureEvent: a field-wise record, but schema "
            + schema.getFullName() + " is not flat");
      }
      e.event = flat.read(in);
    } else {
      byte[] bytes = new byte[in.readInt()];
      in.readFully(bytes);
      decoder = DecoderFactory.get().binaryDecoder(bytes, decoder);
      e.event = reader.read(null, decoder);
    }
    int n = in.readInt();
    e.values = new Object[n];
    for (int i = 0; i < n; i++) {
      int tag = in.readByte();
      e.values[i] = switch (tag) {
        case NULL -> null;
        case LONG -> in.readLong();
        case DOUBLE -> in.readDouble();
        case TRUE -> Boolean.TRUE;
        case FALSE -> Boolean.FALSE;
        case STRING -> in.readUTF();
        default -> throw new IOException("corrupt FeatureEvent: value tag " + tag);
      };
    }
    return e;
  }

  @Override
  public FeatureEvent deserialize(FeatureEvent reuse, DataInputView in) throws IOException {
    return deserialize(in);
  }

  @Override
  public void copy(DataInputView in, DataOutputView out) throws IOException {
    serialize(deserialize(in), out);
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof FeatureEventSerializer s
        && s.schemaJson.equals(schemaJson) && s.featureCount == featureCount;
  }

  @Override
  public int hashCode() {
    return schemaJson.hashCode() * 31 + featureCount;
  }

  @Override
  public TypeSerializerSnapshot<FeatureEvent> snapshotConfiguration() {
    return new Snapshot(schemaJson, featureCount);
  }

  /** A reused byte buffer whose contents are written without a copy. */
  private static final class Buffer extends ByteArrayOutputStream {
    Buffer() {
      super(256);
    }

    byte[] array() {
      return buf;
    }
  }

  /** Snapshot: the schema and the feature count; compatible only with the same of both. */
  public static final class Snapshot implements TypeSerializerSnapshot<FeatureEvent> {
    private String schemaJson;
    private int featureCount;

    public Snapshot() {}

    Snapshot(String schemaJson, int featureCount) {
      this.schemaJson = schemaJson;
      this.featureCount = featureCount;
    }

    @Override
    public int getCurrentVersion() {
      return 1;
    }

    @Override
    public void writeSnapshot(DataOutputView out) throws IOException {
      out.writeUTF(schemaJson);
      out.writeInt(featureCount);
    }

    @Override
    public void readSnapshot(int version, DataInputView in, ClassLoader loader) throws IOException {
      schemaJson = in.readUTF();
      featureCount = in.readInt();
    }

    @Override
    public TypeSerializer<FeatureEvent> restoreSerializer() {
      return new FeatureEventSerializer(schemaJson, featureCount);
    }

    @Override
    public TypeSerializerSchemaCompatibility<FeatureEvent> resolveSchemaCompatibility(
        TypeSerializerSnapshot<FeatureEvent> old) {
      if (old instanceof Snapshot s && s.schemaJson.equals(schemaJson) && s.featureCount == featureCount) {
        return TypeSerializerSchemaCompatibility.compatibleAsIs();
      }
      // In-flight events only (no keyed state holds them): a new spec or schema starts afresh.
      return TypeSerializerSchemaCompatibility.compatibleAfterMigration();
    }
  }
}
