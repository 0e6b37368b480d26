package dev.vigil.schemas.serde;

import java.nio.ByteBuffer;

/**
 * The Confluent wire format: magic byte {@code 0}, the writer schema's registry id as a 4-byte
 * big-endian int, then the Avro binary encoding of the record.
 */
public final class ConfluentWireFormat {
  public static final byte MAGIC = 0;
  public static final int HEADER_SIZE = 5;

  private ConfluentWireFormat() {}

  /** The schema id in {@code bytes}' frame. */
  public static int schemaIdOf(byte[] bytes) throws WireFormatException.NotFramed {
    if (bytes == null) {
      throw new WireFormatException.NotFramed(
          "record value is null; expected Confluent wire format (magic byte 0 + 4-byte schema id)");
    }
    if (bytes.length < HEADER_SIZE) {
      throw new WireFormatException.NotFramed(
          "record value has "
              + bytes.length
              + " bytes; the Confluent wire format needs at least 5 (magic byte 0 + 4-byte schema"
              + " id)");
    }
    if (bytes[0] != MAGIC) {
      throw new WireFormatException.NotFramed(
          String.format(
              "record value starts with byte 0x%02x, not the Confluent magic byte 0x00: not written"
                  + " by a schema-registry serializer (plain JSON or raw Avro?)",
              bytes[0] & 0xff));
    }
    return ByteBuffer.wrap(bytes, 1, 4).getInt();
  }

  /** Writes the 5-byte header for {@code schemaId} into {@code out}. */
  static void writeHeader(ByteBuffer out, int schemaId) {
    out.put(MAGIC).putInt(schemaId);
  }
}
