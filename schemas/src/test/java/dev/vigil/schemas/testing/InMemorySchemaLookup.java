package dev.vigil.schemas.testing;

import dev.vigil.schemas.registry.RegistryException;
import dev.vigil.schemas.registry.SchemaLookup;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.Schema;

/** An in-memory {@link SchemaLookup} for fast unit tests of the serde (integration tests use Apicurio). */
public final class InMemorySchemaLookup implements SchemaLookup {
  private final Map<Integer, Schema> byId = new HashMap<>();
  private final Map<Schema, Integer> ids = new HashMap<>();
  private boolean available = true;

  @Override
  public synchronized Schema schemaById(int id) {
    if (!available) {
      throw new RegistryException(RegistryException.Kind.UNAVAILABLE, 0, 0, "registry down (test)");
    }
    Schema schema = byId.get(id);
    if (schema == null) {
      throw new RegistryException(RegistryException.Kind.NOT_FOUND, 404, 40403, "no schema " + id);
    }
    return schema;
  }

  @Override
  public synchronized int register(String subject, Schema schema) {
    return ids.computeIfAbsent(
        schema,
        s -> {
          int id = byId.size() + 1;
          byId.put(id, s);
          return id;
        });
  }

  /** Simulates the registry going away (true) or coming back (false). */
  public synchronized void setUnavailable(boolean unavailable) {
    this.available = !unavailable;
  }
}
