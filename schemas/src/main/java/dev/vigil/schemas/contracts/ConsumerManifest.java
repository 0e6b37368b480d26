package dev.vigil.schemas.contracts;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;

/**
 * What consumers read, per subject: field paths, the Avro type they expect, and the features and
 * models that use each field. Format: {@code docs/consumer-manifest.md}. Immutable.
 */
public record ConsumerManifest(Map<String, Subject> subjects) {
  public static final int FORMAT_VERSION = 1;
  private static final ObjectMapper JSON =
      new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  public ConsumerManifest {
    subjects = Map.copyOf(subjects);
  }

  /**
   * The fields consumers read from one subject, and (informational) how each entity that keys
   * features on it orders its events and how far behind it reads.
   */
  public record Subject(String name, List<Field> fields, List<Entity> entities) {
    public Subject {
      fields = List.copyOf(fields);
      entities = List.copyOf(entities);
    }

    public Subject(String name, List<Field> fields) {
      this(name, fields, List.of());
    }

    /**
     * Fails when a read field is not in {@code current} (the schema consumers read today): the
     * manifest is stale or wrong, and checking a change against it would prove nothing.
     */
    public void requirePresentIn(Schema current, String label) throws ManifestException {
      for (Field f : fields) {
        if (FieldPaths.find(current, f.path()) == null) {
          throw new ManifestException(
              "consumer manifest lists field '" + f.path() + "' of subject '" + name
                  + "', but " + label + " has no such field; regenerate the manifest"
                  + " (vigil features manifest) or fix the path");
        }
      }
    }
  }

  /**
   * An entity whose features read the subject: its key field, the order its stage applies events
   * in ({@code event_time} or {@code arrival}) and its {@code as_of} lag (a spec duration, {@code 0}
   * for none). A producer that reorders a key's events or repartitions the topic reads here what
   * that changes.
   */
  public record Entity(String name, String key, String ordering, String asOf) {}

  /**
   * A field consumers read.
   *
   * @param path dotted path, e.g. {@code amount_cents} or {@code billing.address.country}
   * @param type the expected type as JSON: a primitive name, a complex type's kind, or an array
   *     of union branches
   */
  public record Field(String path, JsonNode type, List<String> features, List<String> models) {
    public Field {
      features = List.copyOf(features);
      models = List.copyOf(models);
    }
  }

  /** The manifest's type notation for an Avro schema. */
  public static JsonNode typeOf(Schema schema) {
    if (schema.getType() == Schema.Type.UNION) {
      ArrayNode branches = JsonNodeFactory.instance.arrayNode();
      for (Schema branch : schema.getTypes()) {
        branches.add(typeOf(branch));
      }
      return branches;
    }
    return JsonNodeFactory.instance.textNode(schema.getType().getName());
  }

  /** Reads and validates a manifest file; errors name the file and the offending entry. */
  public static ConsumerManifest read(Path file) throws ManifestException {
    JsonNode root;
    try {
      root = JSON.readTree(Files.readString(file));
    } catch (NoSuchFileException e) {
      throw new ManifestException("consumer manifest " + file + " does not exist");
    } catch (JsonProcessingException e) {
      throw new ManifestException(
          file + ":" + e.getLocation().getLineNr() + ":" + e.getLocation().getColumnNr()
              + ": not valid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw new ManifestException("cannot read consumer manifest " + file + ": " + e.getMessage());
    }
    return parse(root, file.toString());
  }

  static ConsumerManifest parse(JsonNode root, String where) throws ManifestException {
    if (root == null || !root.isObject()) {
      throw new ManifestException(where + ": a consumer manifest is a JSON object");
    }
    JsonNode version = root.get("version");
    if (version == null || version.asInt() != FORMAT_VERSION) {
      throw new ManifestException(
          where + ": \"version\" must be " + FORMAT_VERSION + " (see docs/consumer-manifest.md)");
    }
    JsonNode subjects = root.get("subjects");
    if (subjects == null || !subjects.isObject()) {
      throw new ManifestException(where + ": \"subjects\" must be an object keyed by subject");
    }
    Map<String, Subject> parsed = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = subjects.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> entry = it.next();
      String subject = entry.getKey();
      JsonNode fields = entry.getValue().get("fields");
      if (fields == null || !fields.isArray()) {
        throw new ManifestException(
            where + ": subject '" + subject + "' needs a \"fields\" array");
      }
      List<Field> list = new ArrayList<>();
      int i = 0;
      for (JsonNode f : fields) {
        String at = where + ": subjects." + subject + ".fields[" + i++ + "]";
        JsonNode path = f.get("path");
        JsonNode type = f.get("type");
        if (path == null || !path.isTextual() || path.asText().isBlank()) {
          throw new ManifestException(at + ": \"path\" must be a non-empty string");
        }
        if (type == null || !(type.isTextual() || type.isArray())) {
          throw new ManifestException(
              at + " ('" + path.asText() + "'): \"type\" must be an Avro type name or an array of"
                  + " union branches");
        }
        list.add(new Field(path.asText(), type, strings(f.get("features")), strings(f.get("models"))));
      }
      List<Entity> entities = new ArrayList<>();
      JsonNode es = entry.getValue().get("entities");
      if (es != null && es.isArray()) {
        for (JsonNode e : es) {
          entities.add(new Entity(e.path("name").asText(), e.path("key").asText(),
              e.path("ordering").asText("event_time"), e.path("as_of").asText("0")));
        }
      }
      parsed.put(subject, new Subject(subject, list, entities));
    }
    return new ConsumerManifest(parsed);
  }

  /** The one subject to check: {@code subject} if given, else the manifest's only subject. */
  public Subject subject(String subject) throws ManifestException {
    if (subject != null) {
      Subject s = subjects.get(subject);
      if (s == null) {
        throw new ManifestException(
            "the consumer manifest has no subject '" + subject + "'; it has " + subjects.keySet());
      }
      return s;
    }
    if (subjects.size() != 1) {
      throw new ManifestException(
          "the consumer manifest covers " + subjects.keySet() + ": name one with --subject");
    }
    return subjects.values().iterator().next();
  }

  /** The manifest as JSON text, in the documented format. */
  public String toJson() {
    ObjectNode root = JSON.createObjectNode();
    root.put("version", FORMAT_VERSION);
    ObjectNode subjectsNode = root.putObject("subjects");
    for (Subject s : subjects.values()) {
      ObjectNode subjectNode = subjectsNode.putObject(s.name());
      ArrayNode fields = subjectNode.putArray("fields");
      for (Field f : s.fields()) {
        ObjectNode node = fields.addObject();
        node.put("path", f.path());
        node.set("type", f.type());
        f.features().forEach(node.putArray("features")::add);
        ArrayNode models = node.putArray("models");
        f.models().forEach(models::add);
      }
      if (!s.entities().isEmpty()) {
        ArrayNode entities = subjectNode.putArray("entities");
        for (Entity e : s.entities()) {
          entities.addObject().put("name", e.name()).put("key", e.key())
              .put("ordering", e.ordering()).put("as_of", e.asOf());
        }
      }
    }
    try {
      return JSON.writeValueAsString(root) + "\n";
    } catch (JsonProcessingException e) {
      throw new IllegalStateException(e);
    }
  }

  private static List<String> strings(JsonNode node) {
    List<String> out = new ArrayList<>();
    if (node != null && node.isArray()) {
      node.forEach(n -> out.add(n.asText()));
    }
    return out;
  }

  /** A manifest that cannot be used: bad JSON, wrong shape, or not matching the schema it guards. */
  public static final class ManifestException extends Exception {
    private static final long serialVersionUID = 1L;

    public ManifestException(String message) {
      super(message);
    }
  }
}
