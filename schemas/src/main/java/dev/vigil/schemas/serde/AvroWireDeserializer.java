package dev.vigil.schemas.serde;

import dev.vigil.schemas.contracts.FieldPaths;
import dev.vigil.schemas.registry.RegistryException;
import dev.vigil.schemas.registry.SchemaLookup;
import java.io.EOFException;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.SchemaPairCompatibility;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.DatumReader;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;

/**
 * Reads Confluent wire-format bytes into records of one reader schema, resolving each writer
 * schema (found by the frame's id) to the reader with Avro schema resolution.
 *
 * <p>Each problem of the record is its own {@link WireFormatException} subclass with a stable
 * reason code, so a job routes bad records to dead letters instead of failing; an id the registry
 * answers 404 for is one ({@code unknown_schema_id}). Any other registry failure (unreachable,
 * 5xx, timeout, 401) is not the record's fault: it is thrown as the client's unchecked {@link
 * RegistryException}, nothing about the id is cached, and the same call later asks again. Resolution work is done once per
 * writer schema id: the resolved reader, or the fact that the writer is not readable, is cached.
 * Not thread-safe (decoder reuse): one per thread or Flink subtask, created in {@code open()}.
 */
public final class AvroWireDeserializer<T> {

  private interface ReaderFactory<T> {
    DatumReader<T> create(Schema writer, Schema reader);
  }

  private final SchemaLookup registry;
  private final Schema readerSchema;
  private final ReaderFactory<T> readers;
  private final Map<Integer, DatumReader<T>> readersById = new HashMap<>();
  private final Map<Integer, String> unreadableById = new HashMap<>();
  private BinaryDecoder decoder;

  private AvroWireDeserializer(SchemaLookup registry, Schema readerSchema, ReaderFactory<T> readers) {
    this.registry = registry;
    this.readerSchema = readerSchema;
    this.readers = readers;
  }

  /** Reads into a generated class, e.g. {@code forSpecific(registry, Transaction.class)}. */
  public static <T extends SpecificRecord> AvroWireDeserializer<T> forSpecific(
      SchemaLookup registry, Class<T> type) {
    Schema reader = SpecificData.get().getSchema(type);
    return new AvroWireDeserializer<>(registry, reader, SpecificDatumReader::new);
  }

  /** Reads into generic records of {@code readerSchema}. */
  public static AvroWireDeserializer<GenericRecord> forGeneric(
      SchemaLookup registry, Schema readerSchema) {
    return new AvroWireDeserializer<>(registry, readerSchema, GenericDatumReader::new);
  }

  public Schema readerSchema() {
    return readerSchema;
  }

  /**
   * The record in {@code bytes}.
   *
   * @throws WireFormatException the record is bad (its reason code says how)
   * @throws RegistryException the writer schema is not cached and the registry failed other than
   *     with a 404 (not a problem of the record: ask again later)
   */
  public T deserialize(byte[] bytes) throws WireFormatException {
    int id = ConfluentWireFormat.schemaIdOf(bytes);
    DatumReader<T> reader = readerFor(id);
    decoder =
        DecoderFactory.get()
            .binaryDecoder(
                bytes,
                ConfluentWireFormat.HEADER_SIZE,
                bytes.length - ConfluentWireFormat.HEADER_SIZE,
                decoder);
    T value;
    try {
      value = reader.read(null, decoder);
    } catch (EOFException e) {
      throw new WireFormatException.Undecodable(
          "record with schema id " + id + " is truncated: the Avro data ends before the record does",
          id, e);
    } catch (Exception | StackOverflowError e) {
      // Corrupt bytes surface as many exception types (AvroRuntimeException, negative lengths,
      // bad union or enum indexes, ArrayIndexOutOfBounds): all mean the same thing here.
      throw new WireFormatException.Undecodable(
          "record with schema id " + id + " is not valid Avro for its writer schema: " + e, id, e);
    }
    try {
      if (!decoder.isEnd()) {
        throw new WireFormatException.Undecodable(
            "record with schema id " + id + " has bytes left over after the record: corrupt, or"
                + " written with a different schema than its id says",
            id, null);
      }
    } catch (java.io.IOException e) {
      throw new WireFormatException.Undecodable("cannot read record with schema id " + id, id, e);
    }
    return value;
  }

  private String describe(SchemaCompatibility.Incompatibility incompatibility) {
    String path = FieldPaths.of(readerSchema, incompatibility.getLocation());
    return incompatibility.getType()
        + (path.isEmpty() ? "" : " at field '" + path + "'")
        + " ("
        + incompatibility.getMessage()
        + ")";
  }

  private DatumReader<T> readerFor(int id) throws WireFormatException {
    DatumReader<T> reader = readersById.get(id);
    if (reader != null) {
      return reader;
    }
    String unreadable = unreadableById.get(id);
    if (unreadable != null) {
      throw new WireFormatException.IncompatibleWriterSchema(unreadable, id);
    }
    Schema writer;
    try {
      writer = registry.schemaById(id);
    } catch (RegistryException e) {
      if (e.kind() == RegistryException.Kind.NOT_FOUND) {
        throw new WireFormatException.UnknownSchemaId(
            "schema id " + id + " is not known to the schema registry: " + e.getMessage(), id, e);
      }
      throw e; // not the record's fault: the caller retries or fails, never dead-letters
    }
    SchemaPairCompatibility compatibility =
        SchemaCompatibility.checkReaderWriterCompatibility(readerSchema, writer);
    if (compatibility.getType() != SchemaCompatibility.SchemaCompatibilityType.COMPATIBLE) {
      String message =
          "writer schema id "
              + id
              + " ("
              + writer.getFullName()
              + ") cannot be read as "
              + readerSchema.getFullName()
              + ": "
              + compatibility.getResult().getIncompatibilities().stream()
                  .map(i -> describe(i))
                  .reduce((a, b) -> a + "; " + b)
                  .orElse(compatibility.getDescription());
      unreadableById.put(id, message);
      throw new WireFormatException.IncompatibleWriterSchema(message, id);
    }
    reader = readers.create(writer, readerSchema);
    readersById.put(id, reader);
    return reader;
  }
}
