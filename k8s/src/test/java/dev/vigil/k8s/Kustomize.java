package dev.vigil.k8s;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * A renderer for the subset of kustomize that k8s/ uses (kustomize and kubectl are not available
 * to the build). What it does, in kustomize's order:
 *
 * <ol>
 *   <li>{@code resources}: YAML files (every document) inside the kustomization's folder, and
 *       folders holding a kustomization (bases, anywhere), rendered recursively;
 *   <li>{@code configMapGenerator} ({@code name}, {@code files} as {@code path} or {@code
 *       key=path}, {@code behavior} create / replace / merge) with {@code generatorOptions} or
 *       {@code options} {@code disableNameSuffixHash: true} (required, see below);
 *   <li>{@code patches} ({@code path} or inline {@code patch}, optional {@code target} by group,
 *       version, kind, name): a mapping is a strategic-merge patch (maps merged, scalars and lists
 *       of scalars replaced, {@code null} deletes), a list is a JSON 6902 patch ({@code add},
 *       {@code replace}, {@code remove}; JSON pointers with {@code -} and {@code ~0 ~1}).
 * </ol>
 *
 * <p>Anything else is refused with a message rather than rendered differently from kustomize:
 * another kustomization field (namePrefix, commonLabels, images...), a file outside the
 * kustomization's folder (kustomize's default load restrictor), a patch that matches no resource,
 * {@code $patch} directives, and a strategic-merge patch containing a list of mappings (kustomize
 * merges such lists by an inferred key like {@code name} or {@code mountPath}, which this renderer
 * does not imitate: use a JSON 6902 patch for lists). Generated names must not get kustomize's hash
 * suffix: kustomize does not rewrite references inside a FlinkDeployment (a custom resource), so
 * the pods would mount a ConfigMap that does not exist.
 */
final class Kustomize {
  private Kustomize() {}

  static final Set<String> FIELDS = Set.of("apiVersion", "kind", "resources", "patches",
      "configMapGenerator", "generatorOptions");

  /** The resources {@code kustomization folder} renders to. */
  static List<Map<String, Object>> build(Path dir) {
    Path root = dir.toAbsolutePath().normalize();
    Path file = root.resolve("kustomization.yaml");
    if (!Files.isRegularFile(file)) {
      throw new KustomizeException(root + ": no kustomization.yaml");
    }
    Map<String, Object> k = Yamls.map(Yamls.load(file), file.toString());
    for (String key : k.keySet()) {
      if (!FIELDS.contains(key)) {
        throw new KustomizeException(file + ": field '" + key + "' is outside the kustomize"
            + " subset this renderer implements (" + String.join(", ", FIELDS.stream().sorted()
                .toList()) + "); see k8s/README.md");
      }
    }
    if (!"kustomize.config.k8s.io/v1beta1".equals(k.get("apiVersion"))
        || !"Kustomization".equals(k.get("kind"))) {
      throw new KustomizeException(file + ": expected apiVersion kustomize.config.k8s.io/v1beta1"
          + " and kind Kustomization");
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (Object r : list(k.get("resources"), file + ": resources")) {
      Path p = root.resolve(string(r, file + ": resources")).normalize();
      if (Files.isDirectory(p)) {
        out.addAll(build(p));
      } else {
        inside(root, p, file, "resource");
        for (Object doc : Yamls.loadAll(p)) {
          Map<String, Object> res = Yamls.map(doc, p.toString());
          name(res, p.toString());
          out.add(res);
        }
      }
    }
    generate(root, file, k, out);
    for (Object p : list(k.get("patches"), file + ": patches")) {
      patch(root, file, Yamls.map(p, file + ": patches"), out);
    }
    return out;
  }

  private static void generate(Path root, Path file, Map<String, Object> k,
      List<Map<String, Object>> out) {
    boolean noHash = false;
    if (k.get("generatorOptions") != null) {
      Map<String, Object> g = Yamls.map(k.get("generatorOptions"), file + ": generatorOptions");
      only(g, Set.of("disableNameSuffixHash"), file + ": generatorOptions");
      noHash = Boolean.TRUE.equals(g.get("disableNameSuffixHash"));
    }
    for (Object o : list(k.get("configMapGenerator"), file + ": configMapGenerator")) {
      Map<String, Object> gen = Yamls.map(o, file + ": configMapGenerator");
      String where = file + ": configMapGenerator " + gen.get("name");
      only(gen, Set.of("name", "behavior", "files", "options"), where);
      String name = string(gen.get("name"), where + ": name");
      boolean genNoHash = noHash;
      if (gen.get("options") != null) {
        Map<String, Object> opt = Yamls.map(gen.get("options"), where + ": options");
        only(opt, Set.of("disableNameSuffixHash"), where + ": options");
        if (opt.containsKey("disableNameSuffixHash")) {
          genNoHash = Boolean.TRUE.equals(opt.get("disableNameSuffixHash"));
        }
      }
      if (!genNoHash) {
        throw new KustomizeException(where + ": the name would get a hash suffix, and kustomize"
            + " does not rewrite references to it inside a FlinkDeployment; set"
            + " generatorOptions.disableNameSuffixHash: true");
      }
      Map<String, Object> data = new LinkedHashMap<>();
      for (Object f : list(gen.get("files"), where + ": files")) {
        String spec = string(f, where + ": files");
        int eq = spec.indexOf('=');
        String key = eq > 0 ? spec.substring(0, eq) : Path.of(spec).getFileName().toString();
        Path p = root.resolve(eq > 0 ? spec.substring(eq + 1) : spec).normalize();
        inside(root, p, file, "configMapGenerator file");
        if (!Files.isRegularFile(p)) {
          throw new KustomizeException(where + ": no file " + p);
        }
        if (data.put(key, Yamls.read(p)) != null) {
          throw new KustomizeException(where + ": key '" + key + "' twice");
        }
      }
      String behavior = gen.get("behavior") == null ? "create" : string(gen.get("behavior"),
          where + ": behavior");
      Map<String, Object> existing = find(out, "v1", "ConfigMap", name);
      switch (behavior) {
        case "create" -> {
          if (existing != null) {
            throw new KustomizeException(where + ": a ConfigMap " + name + " exists already"
                + " (behavior: replace or merge)");
          }
          Map<String, Object> cm = new LinkedHashMap<>();
          cm.put("apiVersion", "v1");
          cm.put("kind", "ConfigMap");
          cm.put("metadata", new LinkedHashMap<>(Map.of("name", name)));
          cm.put("data", data);
          out.add(cm);
        }
        case "replace", "merge" -> {
          if (existing == null) {
            throw new KustomizeException(where + ": behavior " + behavior + " but no ConfigMap "
                + name + " in the resources");
          }
          Map<String, Object> merged = behavior.equals("merge") && existing.get("data") != null
              ? new LinkedHashMap<>(Yamls.map(existing.get("data"), where)) : new LinkedHashMap<>();
          merged.putAll(data);
          existing.put("data", merged);
        }
        default -> throw new KustomizeException(where + ": behavior '" + behavior
            + "' (create, replace or merge)");
      }
    }
  }

  private static void patch(Path root, Path file, Map<String, Object> p,
      List<Map<String, Object>> out) {
    only(p, Set.of("path", "patch", "target"), file + ": patches");
    Object content;
    String where;
    if (p.get("path") != null) {
      Path pf = root.resolve(string(p.get("path"), file + ": patches path")).normalize();
      inside(root, pf, file, "patch");
      content = Yamls.load(pf);
      where = pf.toString();
    } else {
      content = Yamls.loadString(string(p.get("patch"), file + ": patches patch"));
      where = file + ": inline patch";
    }
    List<Map<String, Object>> targets = new ArrayList<>();
    if (p.get("target") != null) {
      Map<String, Object> t = Yamls.map(p.get("target"), where + ": target");
      only(t, Set.of("group", "version", "kind", "name"), where + ": target");
      for (Map<String, Object> r : out) {
        String[] gv = groupVersion(r);
        if (matches(t.get("group"), gv[0]) && matches(t.get("version"), gv[1])
            && matches(t.get("kind"), r.get("kind")) && matches(t.get("name"), name(r, where))) {
          targets.add(r);
        }
      }
    } else if (content instanceof Map<?, ?> m) {
      Map<String, Object> pm = Yamls.map(m, where);
      Map<String, Object> r = find(out, (String) pm.get("apiVersion"), (String) pm.get("kind"),
          name(pm, where));
      if (r != null) {
        targets.add(r);
      }
    } else {
      throw new KustomizeException(where + ": a JSON 6902 patch needs a target");
    }
    if (targets.isEmpty()) {
      throw new KustomizeException(where + ": the patch matches no resource");
    }
    for (Map<String, Object> r : targets) {
      if (content instanceof Map<?, ?>) {
        Map<String, Object> pm = Yamls.copy(Yamls.map(content, where));
        if (!Objects.equals(pm.get("kind"), r.get("kind"))) {
          throw new KustomizeException(where + ": patch kind " + pm.get("kind") + " for a "
              + r.get("kind"));
        }
        mergePatch(r, pm, "");
      } else if (content instanceof List<?> ops) {
        for (Object op : ops) {
          json6902(r, Yamls.map(op, where + ": operation"), where);
        }
      } else {
        throw new KustomizeException(where + ": a patch is a mapping (strategic merge) or a"
            + " list of operations (JSON 6902)");
      }
    }
  }

  /** A strategic-merge patch on a resource without a schema: maps merge, the rest replaces. */
  @SuppressWarnings("unchecked")
  static void mergePatch(Map<String, Object> target, Map<String, Object> patch, String path) {
    for (Map.Entry<String, Object> e : patch.entrySet()) {
      String key = e.getKey();
      String at = path.isEmpty() ? key : path + "." + key;
      if (key.startsWith("$")) {
        throw new KustomizeException("strategic-merge directive '" + at + "' is not supported");
      }
      Object v = e.getValue();
      Object cur = target.get(key);
      if (v == null) {
        target.remove(key);
      } else if (v instanceof Map<?, ?> vm && cur instanceof Map<?, ?> cm) {
        mergePatch((Map<String, Object>) cm, (Map<String, Object>) vm, at);
      } else if (v instanceof List<?> l && l.stream().anyMatch(x -> x instanceof Map)) {
        throw new KustomizeException("strategic-merge patch has a list of mappings at '" + at
            + "': kustomize would merge it by an inferred key (name, mountPath, ...), which this"
            + " renderer does not imitate; use a JSON 6902 patch (op add with path .../-)");
      } else {
        target.put(key, Yamls.copy(v));
      }
    }
  }

  @SuppressWarnings("unchecked")
  static void json6902(Map<String, Object> doc, Map<String, Object> op, String where) {
    only(op, Set.of("op", "path", "value"), where + ": operation");
    String kind = string(op.get("op"), where + ": op");
    String pointer = string(op.get("path"), where + ": path");
    if (!pointer.startsWith("/")) {
      throw new KustomizeException(where + ": path '" + pointer + "' is not a JSON pointer");
    }
    String[] raw = pointer.substring(1).split("/", -1);
    List<String> tokens = new ArrayList<>();
    for (String t : raw) {
      tokens.add(t.replace("~1", "/").replace("~0", "~"));
    }
    Object parent = doc;
    for (int i = 0; i < tokens.size() - 1; i++) {
      parent = child(parent, tokens.get(i), pointer, where);
    }
    String last = tokens.get(tokens.size() - 1);
    switch (kind) {
      case "add", "replace" -> {
        if (!op.containsKey("value")) {
          throw new KustomizeException(where + ": " + kind + " " + pointer + " without a value");
        }
        Object value = Yamls.copy(op.get("value"));
        if (parent instanceof Map<?, ?> m) {
          if (kind.equals("replace") && !m.containsKey(last)) {
            throw new KustomizeException(where + ": replace " + pointer + ": nothing there");
          }
          ((Map<String, Object>) m).put(last, value);
        } else if (parent instanceof List<?> l) {
          List<Object> list = (List<Object>) l;
          if (kind.equals("add") && last.equals("-")) {
            list.add(value);
          } else {
            int i = index(last, kind.equals("add") ? list.size() : list.size() - 1, pointer, where);
            if (kind.equals("add")) {
              list.add(i, value);
            } else {
              list.set(i, value);
            }
          }
        } else {
          throw new KustomizeException(where + ": " + kind + " " + pointer + ": the parent is a"
              + " scalar");
        }
      }
      case "remove" -> {
        if (parent instanceof Map<?, ?> m && m.containsKey(last)) {
          m.remove(last);
        } else if (parent instanceof List<?> l) {
          l.remove(index(last, l.size() - 1, pointer, where));
        } else {
          throw new KustomizeException(where + ": remove " + pointer + ": nothing there");
        }
      }
      default -> throw new KustomizeException(where + ": JSON 6902 op '" + kind
          + "' is outside the subset (add, replace, remove)");
    }
  }

  private static Object child(Object parent, String token, String pointer, String where) {
    Object next = null;
    if (parent instanceof Map<?, ?> m) {
      next = m.get(token);
    } else if (parent instanceof List<?> l) {
      next = l.get(index(token, l.size() - 1, pointer, where));
    }
    if (next == null) {
      throw new KustomizeException(where + ": " + pointer + ": no '" + token + "' on the way");
    }
    return next;
  }

  private static int index(String token, int max, String pointer, String where) {
    if (!token.matches("0|[1-9]\\d*") || Integer.parseInt(token) > max) {
      throw new KustomizeException(where + ": " + pointer + ": '" + token
          + "' is not an index from 0 to " + max);
    }
    return Integer.parseInt(token);
  }

  static Map<String, Object> find(List<Map<String, Object>> rs, String apiVersion, String kind,
      String name) {
    for (Map<String, Object> r : rs) {
      if (Objects.equals(r.get("apiVersion"), apiVersion) && Objects.equals(r.get("kind"), kind)
          && Objects.equals(name(r, "resource"), name)) {
        return r;
      }
    }
    return null;
  }

  static String name(Map<String, Object> r, String where) {
    Object meta = r.get("metadata");
    if (!(meta instanceof Map<?, ?> m) || !(m.get("name") instanceof String n)) {
      throw new KustomizeException(where + ": a " + r.get("kind") + " without metadata.name");
    }
    return n;
  }

  private static String[] groupVersion(Map<String, Object> r) {
    String av = String.valueOf(r.get("apiVersion"));
    int slash = av.indexOf('/');
    return slash < 0 ? new String[] {"", av}
        : new String[] {av.substring(0, slash), av.substring(slash + 1)};
  }

  private static boolean matches(Object wanted, Object actual) {
    return wanted == null || wanted.equals(actual);
  }

  private static void inside(Path root, Path p, Path file, String what) {
    if (!p.startsWith(root)) {
      throw new KustomizeException(file + ": " + what + " " + p + " is outside " + root
          + " (kustomize's load restrictor refuses it)");
    }
  }

  private static void only(Map<String, Object> m, Set<String> allowed, String where) {
    for (String key : m.keySet()) {
      if (!allowed.contains(key)) {
        throw new KustomizeException(where + ": field '" + key + "' is outside the subset ("
            + String.join(", ", allowed.stream().sorted().toList()) + ")");
      }
    }
  }

  private static List<?> list(Object o, String where) {
    if (o == null) {
      return List.of();
    }
    if (!(o instanceof List<?> l)) {
      throw new KustomizeException(where + ": expected a list");
    }
    return l;
  }

  private static String string(Object o, String where) {
    if (!(o instanceof String s)) {
      throw new KustomizeException(where + ": expected a string, found " + o);
    }
    return s;
  }

  /** The kustomization uses something outside the subset, or is wrong. */
  static final class KustomizeException extends RuntimeException {
    KustomizeException(String message) {
      super(message);
    }
  }
}
