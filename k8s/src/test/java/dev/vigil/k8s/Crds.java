package dev.vigil.k8s;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * The CustomResourceDefinitions in a folder, and strict validation of custom resources against
 * the {@code openAPIV3Schema} of their group, version and kind.
 */
final class Crds {
  private final Map<String, Map<String, Object>> schemas; // "group/version kind" → schema

  private Crds(Map<String, Map<String, Object>> schemas) {
    this.schemas = schemas;
  }

  static Crds load(Path dir) {
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException("no CRD folder at " + dir);
    }
    Map<String, Map<String, Object>> schemas = new LinkedHashMap<>();
    try (Stream<Path> files = Files.list(dir)) {
      for (Path f : files.filter(p -> p.toString().matches(".*\\.ya?ml$")).sorted().toList()) {
        for (Object doc : Yamls.loadAll(f)) {
          Map<String, Object> crd = Yamls.map(doc, f.toString());
          if (!"CustomResourceDefinition".equals(crd.get("kind"))) {
            continue;
          }
          Map<String, Object> spec = Yamls.map(crd.get("spec"), f + ": spec");
          String group = (String) spec.get("group");
          String kind = (String) Yamls.at(spec, "names.kind");
          for (Object v : (List<?>) spec.get("versions")) {
            Map<String, Object> version = Yamls.map(v, f + ": version");
            if (!Boolean.TRUE.equals(version.get("served"))) {
              continue;
            }
            Object schema = Yamls.at(version, "schema.openAPIV3Schema");
            schemas.put(group + "/" + version.get("name") + " " + kind,
                Yamls.map(schema, f + ": openAPIV3Schema"));
          }
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(dir + ": cannot list", e);
    }
    if (schemas.isEmpty()) {
      throw new IllegalStateException(dir + ": no CustomResourceDefinition in it");
    }
    return new Crds(schemas);
  }

  Set<String> kinds() {
    return schemas.keySet();
  }

  boolean knows(Map<String, Object> resource) {
    return schemas.containsKey(resource.get("apiVersion") + " " + resource.get("kind"));
  }

  /** ObjectMeta as manifests write it; the API server fills in the rest. */
  private static final Map<String, Object> METADATA = Map.of(
      "type", "object",
      "required", List.of("name"),
      "properties", Map.of(
          "name", Map.of("type", "string"),
          "namespace", Map.of("type", "string"),
          "labels", Map.of("type", "object", "additionalProperties", Map.of("type", "string")),
          "annotations", Map.of("type", "object",
              "additionalProperties", Map.of("type", "string"))));

  /**
   * Every problem of {@code resource} against its CRD. {@code apiVersion}, {@code kind} and
   * {@code metadata} are implicit at a custom resource's root (the CRD schema does not list them):
   * metadata is checked against the fields a manifest may set. A manifest sets no status.
   */
  List<String> validate(Map<String, Object> resource) {
    String id = resource.get("apiVersion") + " " + resource.get("kind");
    Map<String, Object> schema = schemas.get(id);
    if (schema == null) {
      throw new IllegalArgumentException("no CRD for " + id + "; known: " + schemas.keySet());
    }
    String name = String.valueOf(Yamls.at(resource, "metadata.name"));
    String path = resource.get("kind") + "/" + name;
    List<String> errors = new ArrayList<>(
        SchemaValidator.validate(resource.get("metadata"), METADATA, path + ".metadata"));
    Map<String, Object> body = new LinkedHashMap<>(resource);
    body.remove("apiVersion");
    body.remove("kind");
    body.remove("metadata");
    if (body.containsKey("status")) {
      errors.add(path + ".status: a manifest does not set the status");
    }
    errors.addAll(SchemaValidator.validate(body, schema, path));
    return errors;
  }
}
