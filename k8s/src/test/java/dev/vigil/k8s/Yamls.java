package dev.vigil.k8s;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;

/** YAML in (safe constructor, duplicate keys refused), deep copies, and path lookups. */
final class Yamls {
  private Yamls() {}

  private static Yaml yaml() {
    LoaderOptions options = new LoaderOptions();
    options.setAllowDuplicateKeys(false);
    options.setCodePointLimit(16 * 1024 * 1024);
    return new Yaml(new SafeConstructor(options));
  }

  static String read(Path file) {
    try {
      return Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot read", e);
    }
  }

  /** Every document of {@code file}, empty ones left out. */
  static List<Object> loadAll(Path file) {
    List<Object> docs = new ArrayList<>();
    try {
      for (Object doc : yaml().loadAll(read(file))) {
        if (doc != null) {
          docs.add(doc);
        }
      }
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(file + ": not valid YAML: " + e.getMessage(), e);
    }
    return docs;
  }

  static Object load(Path file) {
    List<Object> docs = loadAll(file);
    if (docs.size() != 1) {
      throw new IllegalArgumentException(file + ": expected one YAML document, found "
          + docs.size());
    }
    return docs.get(0);
  }

  static Object loadString(String text) {
    return yaml().load(text);
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> map(Object o, String what) {
    if (!(o instanceof Map)) {
      throw new IllegalArgumentException(what + ": expected a mapping, found "
          + (o == null ? "nothing" : o.getClass().getSimpleName()));
    }
    return (Map<String, Object>) o;
  }

  /** A deep copy of maps and lists (scalars are immutable). */
  @SuppressWarnings("unchecked")
  static <T> T copy(T o) {
    if (o instanceof Map<?, ?> m) {
      Map<Object, Object> c = new LinkedHashMap<>();
      m.forEach((k, v) -> c.put(k, copy(v)));
      return (T) c;
    }
    if (o instanceof List<?> l) {
      List<Object> c = new ArrayList<>();
      l.forEach(v -> c.add(copy(v)));
      return (T) c;
    }
    return o;
  }

  /** The value at {@code dotted} ("spec.job.jarURI"; list indexes as numbers), or null. */
  static Object at(Object root, String dotted) {
    Object cur = root;
    for (String part : dotted.split("\\.")) {
      if (cur instanceof Map<?, ?> m) {
        cur = m.get(part);
      } else if (cur instanceof List<?> l && part.matches("\\d+")) {
        int i = Integer.parseInt(part);
        cur = i < l.size() ? l.get(i) : null;
      } else {
        return null;
      }
    }
    return cur;
  }
}
