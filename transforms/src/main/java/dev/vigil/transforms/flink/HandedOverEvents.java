package dev.vigil.transforms.flink;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.data.TimeConversions;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;

/**
 * Events a savepoint tool hands over to an event-time stage as waiting updates ({@link
 * FeatureStates#HANDED_OVER}): a bootstrap applies an {@code as_of} entity's history only up to
 * {@code cut-over − as_of}, and the events after that must wait in the stage, as they would have
 * in a stream, until no reader can need the state without them. Each is its writer schema (JSON)
 * and its Avro binary, so that the stage can read it whatever record type it carries (the job's
 * envelope or the plain source record): fields are matched by name, and a field the writer did
 * not have gets its default, or an empty value of its type.
 */
public final class HandedOverEvents {
  /** Writes timestamps given as {@code Instant} or as epoch millis alike. */
  private static final GenericData DATA = new GenericData();

  static {
    DATA.addLogicalTypeConversion(new TimeConversions.TimestampMillisConversion());
  }

  private final Map<String, Schema> writers = new HashMap<>();

  /** {@code record} with its schema, as bytes. */
  public static byte[] encode(IndexedRecord record) {
    try {
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      DataOutputStream out = new DataOutputStream(bytes);
      out.writeUTF(record.getSchema().toString());
      BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
      new GenericDatumWriter<IndexedRecord>(record.getSchema(), DATA).write(record, encoder);
      encoder.flush();
      out.flush();
      return bytes.toByteArray();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What {@link #encode} wrote, as a record of {@code target}. */
  public GenericRecord decode(byte[] bytes, Schema target) {
    try {
      DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes));
      Schema writer = writers.computeIfAbsent(in.readUTF(), json -> new Schema.Parser().parse(json));
      GenericRecord read = new GenericDatumReader<GenericRecord>(writer)
          .read(null, DecoderFactory.get().binaryDecoder(in, null));
      GenericData.Record out = new GenericData.Record(target);
      for (Schema.Field f : target.getFields()) {
        Schema.Field w = writer.getField(f.name());
        out.put(f.pos(), w != null ? read.get(w.pos()) : empty(f));
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException("a handed-over event cannot be read", e);
    }
  }

  private static Object empty(Schema.Field f) {
    if (f.hasDefaultValue()) {
      return GenericData.get().getDefaultValue(f);
    }
    return switch (f.schema().getType()) {
      case BYTES -> ByteBuffer.allocate(0);
      case LONG -> 0L;
      case INT -> 0;
      case STRING -> "";
      case BOOLEAN -> false;
      case DOUBLE -> 0.0;
      case FLOAT -> 0.0f;
      default -> null;
    };
  }
}
