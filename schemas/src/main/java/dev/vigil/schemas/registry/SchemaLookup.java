package dev.vigil.schemas.registry;

import org.apache.avro.Schema;

/**
 * What the wire-format serde needs from a registry: schemas by id, and the id of a schema under a
 * subject. {@link SchemaRegistryClient} implements it; tests may use a small in-memory one.
 */
public interface SchemaLookup {

  /**
   * The schema with global id {@code id}.
   *
   * @throws RegistryException {@code NOT_FOUND} for an unknown id, {@code UNAVAILABLE} when the
   *     registry cannot be reached
   */
  Schema schemaById(int id);

  /** Registers {@code schema} under {@code subject} (or finds it), returning its global id. */
  int register(String subject, Schema schema);
}
