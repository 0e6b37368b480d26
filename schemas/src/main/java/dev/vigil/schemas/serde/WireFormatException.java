package dev.vigil.schemas.serde;

/**
 * A record's bytes could not be turned into a value. Each subclass is one reason, a problem of the
 * record itself, with a stable {@link #reasonCode()} that the job uses to route the record to the
 * dead-letter topic. A registry that cannot be reached is not one of them: that is not the data's
 * fault, so {@link AvroWireDeserializer} lets its {@link
 * dev.vigil.schemas.registry.RegistryException} through and the caller decides (the scoring job
 * waits and retries).
 */
public abstract sealed class WireFormatException extends Exception
    permits WireFormatException.NotFramed,
        WireFormatException.UnknownSchemaId,
        WireFormatException.Undecodable,
        WireFormatException.IncompatibleWriterSchema {
  private static final long serialVersionUID = 1L;

  private final int schemaId;

  WireFormatException(String message, int schemaId, Throwable cause) {
    super(message, cause, false, cause != null);
    this.schemaId = schemaId;
  }

  /** Stable machine-readable reason, e.g. {@code not_framed}. */
  public abstract String reasonCode();

  /** The writer schema id from the frame, or -1 when it could not be read. */
  public int schemaId() {
    return schemaId;
  }

  /** Not in the Confluent wire format: null, shorter than 5 bytes, or magic byte not 0. */
  public static final class NotFramed extends WireFormatException {
    private static final long serialVersionUID = 1L;

    public NotFramed(String message) {
      super(message, -1, null);
    }

    @Override
    public String reasonCode() {
      return "not_framed";
    }
  }

  /** The frame names a schema id the registry does not know. */
  public static final class UnknownSchemaId extends WireFormatException {
    private static final long serialVersionUID = 1L;

    public UnknownSchemaId(String message, int schemaId, Throwable cause) {
      super(message, schemaId, cause);
    }

    @Override
    public String reasonCode() {
      return "unknown_schema_id";
    }
  }

  /** Truncated or corrupt Avro binary, or bytes left over after the record. */
  public static final class Undecodable extends WireFormatException {
    private static final long serialVersionUID = 1L;

    public Undecodable(String message, int schemaId, Throwable cause) {
      super(message, schemaId, cause);
    }

    @Override
    public String reasonCode() {
      return "undecodable";
    }
  }

  /** The writer schema cannot be read with the reader schema (Avro schema resolution fails). */
  public static final class IncompatibleWriterSchema extends WireFormatException {
    private static final long serialVersionUID = 1L;

    public IncompatibleWriterSchema(String message, int schemaId) {
      super(message, schemaId, null);
    }

    @Override
    public String reasonCode() {
      return "incompatible_writer_schema";
    }
  }
}
