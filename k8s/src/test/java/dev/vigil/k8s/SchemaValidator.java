package dev.vigil.k8s;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Validates a value against a CRD's OpenAPI v3 schema strictly, the way the API server's
 * structural-schema validation and pruning would treat it, except that a field the schema does
 * not know is an error here instead of being dropped silently:
 *
 * <ul>
 *   <li>{@code type} object, array, string, integer, number, boolean; {@code nullable};
 *   <li>{@code properties} (unknown fields rejected with the closest known name, unless {@code
 *       additionalProperties} gives a schema or {@code true}, or {@code
 *       x-kubernetes-preserve-unknown-fields: true}), {@code required}, {@code items}, {@code
 *       enum};
 *   <li>{@code x-kubernetes-int-or-string}, {@code anyOf}, {@code oneOf}, {@code allOf}.
 * </ul>
 *
 * <p>Annotations ({@code description}, {@code default}, {@code format}, {@code x-kubernetes-*}
 * list and map hints) validate nothing. Any other keyword fails the validation loudly, so that a
 * newer CRD with, say, {@code pattern} is not passed by a validator that ignores it.
 */
final class SchemaValidator {
  private SchemaValidator() {}

  private static final Set<String> KEYWORDS = Set.of("type", "properties", "required", "enum",
      "items", "additionalProperties", "anyOf", "oneOf", "allOf", "nullable", "description",
      "default", "format", "title", "x-kubernetes-int-or-string",
      "x-kubernetes-preserve-unknown-fields", "x-kubernetes-list-type",
      "x-kubernetes-list-map-keys", "x-kubernetes-map-type", "x-kubernetes-embedded-resource");

  /** Every problem of {@code value} against {@code schema}; {@code path} names the value. */
  static List<String> validate(Object value, Map<String, Object> schema, String path) {
    List<String> errors = new ArrayList<>();
    walk(value, schema, path, errors);
    return errors;
  }

  @SuppressWarnings("unchecked")
  private static void walk(Object v, Map<String, Object> s, String path, List<String> errors) {
    for (String k : s.keySet()) {
      if (!KEYWORDS.contains(k)) {
        throw new IllegalStateException("schema keyword '" + k + "' at " + path
            + " is not implemented by this validator");
      }
    }
    if (v == null) {
      if (!Boolean.TRUE.equals(s.get("nullable"))) {
        errors.add(path + ": null is not allowed");
      }
      return;
    }
    if (Boolean.TRUE.equals(s.get("x-kubernetes-int-or-string"))) {
      if (!(isInteger(v) || v instanceof String)) {
        errors.add(path + ": expected an integer or a string, found " + describe(v));
      }
      return;
    }
    if (s.get("anyOf") != null && !anyMatch((List<Object>) s.get("anyOf"), v, path)) {
      errors.add(path + ": matches none of anyOf " + s.get("anyOf"));
    }
    if (s.get("oneOf") != null) {
      int n = 0;
      for (Object branch : (List<Object>) s.get("oneOf")) {
        if (validate(v, (Map<String, Object>) branch, path).isEmpty()) {
          n++;
        }
      }
      if (n != 1) {
        errors.add(path + ": matches " + n + " of oneOf " + s.get("oneOf") + ", expected one");
      }
    }
    if (s.get("allOf") != null) {
      for (Object branch : (List<Object>) s.get("allOf")) {
        walk(v, (Map<String, Object>) branch, path, errors);
      }
    }
    if (s.get("enum") != null && !((List<Object>) s.get("enum")).contains(v)) {
      errors.add(path + ": '" + v + "' is not one of " + s.get("enum"));
    }
    String type = (String) s.get("type");
    if (type == null) {
      if (s.get("properties") != null) {
        type = "object";
      } else {
        return; // no type: only anyOf / preserve-unknown-fields schemas, checked above
      }
    }
    switch (type) {
      case "object" -> object(v, s, path, errors);
      case "array" -> {
        if (!(v instanceof List<?> list)) {
          errors.add(path + ": expected an array, found " + describe(v));
          return;
        }
        Map<String, Object> items = (Map<String, Object>) s.get("items");
        for (int i = 0; i < list.size(); i++) {
          if (items != null) {
            walk(list.get(i), items, path + "[" + i + "]", errors);
          }
        }
      }
      case "string" -> {
        if (!(v instanceof String)) {
          errors.add(path + ": expected a string, found " + describe(v));
        }
      }
      case "integer" -> {
        if (!isInteger(v)) {
          errors.add(path + ": expected an integer, found " + describe(v));
        }
      }
      case "number" -> {
        if (!(v instanceof Number)) {
          errors.add(path + ": expected a number, found " + describe(v));
        }
      }
      case "boolean" -> {
        if (!(v instanceof Boolean)) {
          errors.add(path + ": expected a boolean, found " + describe(v));
        }
      }
      default -> throw new IllegalStateException("schema type '" + type + "' at " + path);
    }
  }

  @SuppressWarnings("unchecked")
  private static void object(Object v, Map<String, Object> s, String path, List<String> errors) {
    if (!(v instanceof Map<?, ?> raw)) {
      errors.add(path + ": expected an object, found " + describe(v));
      return;
    }
    Map<String, Object> props = s.get("properties") == null ? Map.of()
        : (Map<String, Object>) s.get("properties");
    Object additional = s.get("additionalProperties");
    boolean preserve = Boolean.TRUE.equals(s.get("x-kubernetes-preserve-unknown-fields"));
    if (s.get("required") != null) {
      for (Object r : (List<Object>) s.get("required")) {
        if (!raw.containsKey(r)) {
          errors.add(path + ": required field '" + r + "' is missing");
        }
      }
    }
    for (Map.Entry<?, ?> e : raw.entrySet()) {
      if (!(e.getKey() instanceof String key)) {
        errors.add(path + ": key " + e.getKey() + " is not a string");
        continue;
      }
      String at = path + "." + key;
      if (props.containsKey(key)) {
        walk(e.getValue(), (Map<String, Object>) props.get(key), at, errors);
      } else if (additional instanceof Map<?, ?> schema) {
        walk(e.getValue(), (Map<String, Object>) schema, at, errors);
      } else if (Boolean.TRUE.equals(additional) || preserve) {
        // open object: anything goes
      } else {
        errors.add(at + ": unknown field" + (props.isEmpty() ? " (the schema allows none here)"
            : " (did you mean '" + Closest.to(key, props.keySet()) + "'?)"));
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static boolean anyMatch(List<Object> branches, Object v, String path) {
    for (Object branch : branches) {
      if (validate(v, (Map<String, Object>) branch, path).isEmpty()) {
        return true;
      }
    }
    return false;
  }

  private static boolean isInteger(Object v) {
    return v instanceof Integer || v instanceof Long || v instanceof BigInteger
        || v instanceof Short || v instanceof Byte;
  }

  private static String describe(Object v) {
    String type = v instanceof Map ? "object" : v instanceof List ? "array"
        : v instanceof String ? "string" : isInteger(v) ? "integer" : v instanceof Number
        ? "number" : v instanceof Boolean ? "boolean" : v.getClass().getSimpleName();
    String text = String.valueOf(v);
    return type + (v instanceof Map || v instanceof List ? "" : " '" + (text.length() > 40
        ? text.substring(0, 40) + "…" : text) + "'");
  }
}
