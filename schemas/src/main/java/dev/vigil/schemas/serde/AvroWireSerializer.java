package dev.vigil.schemas.serde;

import dev.vigil.schemas.registry.SchemaLookup;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DatumWriter;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

/**
 * Writes records in the Confluent wire format under one subject. The writer schema is registered
 * (or found) once, on first use; after that, serializing never calls the registry.
 *
 * <p>Not thread-safe (it reuses its buffer and encoder): one per thread or Flink subtask, created
 * in {@code open()}.
 */
public final class AvroWireSerializer<T extends IndexedRecord> {
  private final SchemaLookup registry;
  private final String subject;
  private final Schema writerSchema;
  private final DatumWriter<T> writer;
  private final ByteArrayOutputStream buffer = new ByteArrayOutputStream(256);
  private BinaryEncoder encoder;
  private int schemaId = -1;

  private AvroWireSerializer(
      SchemaLookup registry, String subject, Schema writerSchema, DatumWriter<T> writer) {
    this.registry = registry;
    this.subject = subject;
    this.writerSchema = writerSchema;
    this.writer = writer;
  }

  /** A serializer for generated classes, e.g. {@code forSpecific(registry, "s-value", Score.class)}. */
  public static <T extends SpecificRecord> AvroWireSerializer<T> forSpecific(
      SchemaLookup registry, String subject, Class<T> type) {
    Schema schema = SpecificData.get().getSchema(type);
    return new AvroWireSerializer<>(registry, subject, schema, new SpecificDatumWriter<>(schema));
  }

  /** A serializer for generic records of {@code schema}. */
  public static <T extends IndexedRecord> AvroWireSerializer<T> forGeneric(
      SchemaLookup registry, String subject, Schema schema) {
    return new AvroWireSerializer<>(registry, subject, schema, new GenericDatumWriter<>(schema));
  }

  /** The writer schema's registry id (registers it on first call). */
  public int schemaId() {
    if (schemaId < 0) {
      schemaId = registry.register(subject, writerSchema);
    }
    return schemaId;
  }

  public byte[] serialize(T record) {
    int id = schemaId();
    buffer.reset();
    buffer.write(ConfluentWireFormat.MAGIC);
    buffer.write(id >>> 24);
    buffer.write(id >>> 16);
    buffer.write(id >>> 8);
    buffer.write(id);
    encoder = EncoderFactory.get().directBinaryEncoder(buffer, encoder);
    try {
      writer.write(record, encoder);
      encoder.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot encode record for subject '" + subject + "'", e);
    }
    return buffer.toByteArray();
  }
}
