package dev.vigil.schemas.registry;

import java.util.List;
import org.apache.avro.Schema;

/**
 * A client for the Confluent Schema Registry REST API (Confluent, Apicurio's
 * {@code /apis/ccompat/v7}, Karapace, Redpanda).
 *
 * <p>SKELETON: the signatures other code builds against. Implementation pending.
 */
public final class SchemaRegistryClient implements AutoCloseable {

  /** One registered version of a subject. */
  public record SchemaVersion(String subject, int version, int id, Schema schema) {}

  /** Registers {@code schema} under {@code subject}, returning its global id. */
  public int register(String subject, Schema schema) {
    throw new UnsupportedOperationException("pending");
  }

  /** The schema with global id {@code id} (cached: ids are immutable). */
  public Schema schemaById(int id) {
    throw new UnsupportedOperationException("pending");
  }

  /** The latest version of {@code subject}. */
  public SchemaVersion latest(String subject) {
    throw new UnsupportedOperationException("pending");
  }

  /** Every version of {@code subject}, oldest first. */
  public List<SchemaVersion> allVersions(String subject) {
    throw new UnsupportedOperationException("pending");
  }

  /** The subject's compatibility level, or the global one when the subject has none. */
  public String compatibility(String subject) {
    throw new UnsupportedOperationException("pending");
  }

  @Override
  public void close() {}
}
