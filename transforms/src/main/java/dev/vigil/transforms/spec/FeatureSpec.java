package dev.vigil.transforms.spec;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * A feature spec: features declared once, computed identically by the streaming job, the offline
 * backfill and the savepoint bootstrap. Format: {@code docs/feature-spec.md}. Immutable.
 *
 * @param sourceSubject the registry subject of the source stream
 * @param eventTimeField the field holding event time (epoch millis)
 * @param schemaPath the source schema file, resolved against the spec's folder, or null for the
 *     bundled schema of the subject
 * @param entities entity name → key field, in spec order
 * @param timing entity name → how its stage orders events and how far behind it reads ({@link
 *     EntityTiming}); every entity of {@code entities} has one
 * @param features in spec order
 * @param modelName the model that reads the features (optional)
 * @param modelInputs the model's input features in order (optional; default: every feature)
 * @param fingerprint SHA-256 of the spec's canonical form, recorded with every feature vector
 */
public record FeatureSpec(
    String sourceSubject,
    String eventTimeField,
    Path schemaPath,
    Map<String, String> entities,
    Map<String, EntityTiming> timing,
    List<FeatureDef> features,
    String modelName,
    List<String> modelInputs,
    String fingerprint) {

  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
  private static final Set<String> TOP_KEYS = Set.of("source", "entities", "features", "model");
  private static final Set<String> SOURCE_KEYS = Set.of("subject", "event_time", "schema");
  private static final Set<String> FEATURE_KEYS =
      Set.of("name", "entity", "aggregation", "field", "window", "resolution");
  private static final Set<String> MODEL_KEYS = Set.of("name", "inputs");
  private static final Set<String> ENTITY_KEYS = Set.of("key", "ordering", "as_of", "idle_ttl");

  public FeatureSpec {
    entities = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(entities));
    timing = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(timing));
    features = List.copyOf(features);
    modelInputs = List.copyOf(modelInputs);
  }

  /** Loads and validates the spec at {@code file}. */
  public static FeatureSpec load(Path file) throws SpecException {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new SpecException(file.toString(), List.of("no such file"));
    } catch (IOException e) {
      throw new SpecException(file.toString(), List.of("cannot read: " + e.getMessage()));
    }
    Path dir = file.toAbsolutePath().getParent();
    return parse(text, file.toString(), dir);
  }

  /** Parses spec YAML; {@code dir} resolves a relative {@code source.schema}. */
  public static FeatureSpec parse(String yaml, String source, Path dir) throws SpecException {
    JsonNode root;
    try {
      root = YAML.readTree(yaml);
    } catch (JsonProcessingException e) {
      String at = e.getLocation() == null ? ""
          : " at line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr();
      throw new SpecException(source, List.of("not valid YAML" + at + ": " + e.getOriginalMessage()));
    }
    List<String> problems = new ArrayList<>();
    if (root == null || !root.isObject()) {
      throw new SpecException(source, List.of("a spec is a YAML mapping with keys " + sorted(TOP_KEYS)));
    }
    unknownKeys(root, TOP_KEYS, "the spec", problems);

    JsonNode sourceNode = root.get("source");
    String subject = null;
    String eventTime = null;
    Path schemaPath = null;
    if (sourceNode == null || !sourceNode.isObject()) {
      problems.add("key 'source': required, a mapping with 'subject' and 'event_time'");
    } else {
      unknownKeys(sourceNode, SOURCE_KEYS, "'source'", problems);
      subject = text(sourceNode, "subject", "'source'", true, problems);
      eventTime = text(sourceNode, "event_time", "'source'", true, problems);
      String schema = text(sourceNode, "schema", "'source'", false, problems);
      if (schema != null) {
        schemaPath = dir == null ? Path.of(schema) : dir.resolve(schema).normalize();
      }
    }

    Map<String, String> entities = new LinkedHashMap<>();
    Map<String, EntityTiming> timing = new LinkedHashMap<>();
    JsonNode entitiesNode = root.get("entities");
    if (entitiesNode == null || !entitiesNode.isObject() || entitiesNode.isEmpty()) {
      problems.add("key 'entities': required, a mapping of entity name to key field,"
          + " e.g. 'card: card_id' or 'merchant: {key: merchant_id, as_of: 2s}'");
    } else {
      for (Iterator<Map.Entry<String, JsonNode>> it = entitiesNode.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        String label = "entity '" + e.getKey() + "'";
        if (!NAME.matcher(e.getKey()).matches()) {
          problems.add(label + ": names are letters, digits and '_'");
        }
        JsonNode v = e.getValue();
        if (v.isTextual() && !v.asText().isBlank()) {
          entities.put(e.getKey(), v.asText());
          timing.put(e.getKey(), EntityTiming.DEFAULT);
        } else if (v.isObject()) {
          unknownKeys(v, ENTITY_KEYS, label, problems);
          String key = text(v, "key", label, true, problems);
          EntityTiming t = EntityTiming.parse(text(v, "ordering", label, false, problems),
              text(v, "as_of", label, false, problems), text(v, "idle_ttl", label, false, problems),
              label, problems);
          if (key != null) {
            entities.put(e.getKey(), key);
            timing.put(e.getKey(), t);
          }
        } else {
          problems.add(label + ": the value must be the key field's name, or a mapping with"
              + " 'key' (and optionally 'ordering', 'as_of', 'idle_ttl')");
        }
      }
      int index = 0;
      for (Map.Entry<String, EntityTiming> t : timing.entrySet()) {
        if (index++ > 0 && t.getValue().ordering() == EntityTiming.Ordering.ARRIVAL) {
          problems.add("entity '" + t.getKey() + "': key 'ordering': 'arrival' is only for the"
              + " first entity (the one the input is partitioned by); a later stage receives its"
              + " events from every subtask of the one before it, so it orders by event time");
        }
      }
    }

    List<FeatureDef> features = new ArrayList<>();
    JsonNode featuresNode = root.get("features");
    if (featuresNode == null || !featuresNode.isArray() || featuresNode.isEmpty()) {
      problems.add("key 'features': required, a list of features");
    } else {
      Set<String> names = new LinkedHashSet<>();
      int index = 0;
      for (JsonNode f : featuresNode) {
        index++;
        FeatureDef def = feature(f, index, entities, names, problems);
        if (def != null) {
          features.add(def);
        }
      }
    }

    String modelName = null;
    List<String> inputs = new ArrayList<>();
    JsonNode model = root.get("model");
    if (model != null) {
      if (!model.isObject()) {
        problems.add("key 'model': a mapping with 'name' and 'inputs'");
      } else {
        unknownKeys(model, MODEL_KEYS, "'model'", problems);
        modelName = text(model, "name", "'model'", true, problems);
        JsonNode in = model.get("inputs");
        if (in != null) {
          if (!in.isArray()) {
            problems.add("model: key 'inputs': a list of feature names in the model's order");
          } else {
            Set<String> known = new LinkedHashSet<>();
            features.forEach(d -> known.add(d.name()));
            for (JsonNode n : in) {
              if (!known.contains(n.asText())) {
                problems.add("model: key 'inputs': '" + n.asText() + "' is not a feature of this"
                    + " spec; features: " + String.join(", ", known));
              }
              inputs.add(n.asText());
            }
          }
        }
      }
    }
    if (!problems.isEmpty()) {
      throw new SpecException(source, problems);
    }
    if (inputs.isEmpty()) {
      features.forEach(d -> inputs.add(d.name()));
    }
    return new FeatureSpec(subject, eventTime, schemaPath, entities, timing, features, modelName,
        inputs, fingerprint(subject, eventTime, entities, timing, features));
  }

  private static FeatureDef feature(
      JsonNode f, int index, Map<String, String> entities, Set<String> names, List<String> problems) {
    if (!f.isObject()) {
      problems.add("feature #" + index + ": a mapping with " + sorted(FEATURE_KEYS));
      return null;
    }
    String label = f.hasNonNull("name") ? "feature '" + f.get("name").asText() + "'" : "feature #" + index;
    int before = problems.size();
    unknownKeys(f, FEATURE_KEYS, label, problems);
    String name = text(f, "name", label, true, problems);
    if (name != null) {
      if (!NAME.matcher(name).matches()) {
        problems.add(label + ": key 'name': letters, digits and '_' only, not starting with a digit");
      } else if (!names.add(name)) {
        problems.add(label + ": key 'name': another feature has the same name");
      }
    }
    String entity = text(f, "entity", label, true, problems);
    if (entity != null && !entities.isEmpty() && !entities.containsKey(entity)) {
      problems.add(label + ": key 'entity': '" + entity + "' is not one of "
          + String.join(", ", entities.keySet()) + " (declared under 'entities')");
    }
    Aggregation aggregation = null;
    String aggText = text(f, "aggregation", label, true, problems);
    if (aggText != null) {
      try {
        aggregation = Aggregation.parse(aggText);
      } catch (IllegalArgumentException e) {
        problems.add(label + ": key 'aggregation': " + e.getMessage());
      }
    }
    String field = text(f, "field", label, false, problems);
    if (aggregation != null) {
      if (aggregation.readsField() && field == null) {
        problems.add(label + ": key 'field': required for " + aggregation.specName()
            + " (the source field it aggregates)");
      } else if (!aggregation.readsField() && field != null) {
        problems.add(label + ": key 'field': " + aggregation.specName()
            + " reads no field; remove 'field'");
      }
    }
    long window = 0;
    String windowText = text(f, "window", label, false, problems);
    if (windowText != null) {
      try {
        window = Durations.parseMillis(windowText);
      } catch (IllegalArgumentException e) {
        problems.add(label + ": key 'window': " + e.getMessage());
      }
    }
    long resolution = 0;
    String resolutionText = text(f, "resolution", label, false, problems);
    if (resolutionText != null) {
      if (windowText == null) {
        problems.add(label + ": key 'resolution': only a windowed feature has a resolution;"
            + " add 'window' or remove 'resolution'");
      } else {
        try {
          resolution = Durations.parseMillis(resolutionText);
          if (window > 0 && resolution > window) {
            problems.add(label + ": key 'resolution': " + resolutionText
                + " is longer than the window " + windowText + "; use at most the window");
          }
        } catch (IllegalArgumentException e) {
          problems.add(label + ": key 'resolution': " + e.getMessage());
        }
      }
    } else if (window > 0) {
      resolution = Durations.defaultResolution(window);
      if (resolution > window) {
        resolution = window;
      }
    }
    if (problems.size() > before) {
      return null;
    }
    return new FeatureDef(name, entity, aggregation, field, window, resolution);
  }

  private static String text(
      JsonNode node, String key, String where, boolean required, List<String> problems) {
    JsonNode v = node.get(key);
    if (v == null || v.isNull()) {
      if (required) {
        problems.add(where + ": key '" + key + "' is required");
      }
      return null;
    }
    if (!v.isValueNode() || v.asText().isBlank()) {
      problems.add(where + ": key '" + key + "' must be a non-empty text value");
      return null;
    }
    return v.asText().strip();
  }

  private static void unknownKeys(JsonNode node, Set<String> allowed, String where, List<String> problems) {
    node.fieldNames().forEachRemaining(k -> {
      if (!allowed.contains(k)) {
        problems.add(where + ": unknown key '" + k + "'; allowed: " + sorted(allowed));
      }
    });
  }

  private static String sorted(Set<String> keys) {
    return String.join(", ", new java.util.TreeSet<>(keys));
  }

  private static String fingerprint(
      String subject, String eventTime, Map<String, String> entities,
      Map<String, EntityTiming> timing, List<FeatureDef> features) {
    StringBuilder canonical = new StringBuilder();
    canonical.append(subject).append('|').append(eventTime).append('|').append(entities);
    // The default timing leaves the fingerprint of a spec that declares none as it was.
    timing.forEach((name, t) -> {
      if (!t.equals(EntityTiming.DEFAULT)) {
        canonical.append('|').append(name).append('=').append(t);
      }
    });
    for (FeatureDef f : features) {
      canonical.append('|').append(f);
    }
    try {
      byte[] hash = MessageDigest.getInstance("SHA-256")
          .digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(hash);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** How {@code entity}'s stage orders its events and how far behind it reads. */
  public EntityTiming timingOf(String entity) {
    EntityTiming t = timing.get(entity);
    if (t == null) {
      throw new IllegalArgumentException("no entity '" + entity + "' in the spec");
    }
    return t;
  }

  /** The features of {@code entity}, in spec order. */
  public List<FeatureDef> featuresOf(String entity) {
    return features.stream().filter(f -> f.entity().equals(entity)).toList();
  }

  /** Entities that have at least one feature, in spec order. */
  public List<String> activeEntities() {
    return entities.keySet().stream().filter(e -> !featuresOf(e).isEmpty()).toList();
  }

  /** Feature names in spec order. */
  public List<String> featureNames() {
    return features.stream().map(FeatureDef::name).toList();
  }
}
