package dev.vigil.k8s;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/** The rendered kustomizations of k8s/ and the standalone manifests beside them. */
final class Manifests {
  private Manifests() {}

  /** Every kustomization the tests render, relative to k8s/. */
  static final List<String> TARGETS = List.of("base", "overlays/local", "overlays/prod");
  static final List<String> OVERLAYS = List.of("overlays/local", "overlays/prod");

  private static final Map<String, List<Map<String, Object>>> CACHE = new LinkedHashMap<>();

  /** A fresh copy of what {@code target} renders to (tests may change it). */
  static synchronized List<Map<String, Object>> render(String target) {
    List<Map<String, Object>> r = CACHE.computeIfAbsent(target,
        t -> Kustomize.build(Repo.k8s().resolve(t)));
    return Yamls.copy(r);
  }

  /** The one FlinkDeployment of {@code target}. */
  static Map<String, Object> flinkDeployment(String target) {
    return one(render(target), "flink.apache.org/v1beta1", "FlinkDeployment", target);
  }

  static Map<String, Object> one(List<Map<String, Object>> rs, String apiVersion, String kind,
      String where) {
    List<Map<String, Object>> found = rs.stream()
        .filter(r -> apiVersion.equals(r.get("apiVersion")) && kind.equals(r.get("kind")))
        .toList();
    if (found.size() != 1) {
      throw new AssertionError(where + ": expected one " + kind + ", found " + found.size());
    }
    return found.get(0);
  }

  /** The documents of k8s/snapshots/*.yaml (FlinkStateSnapshot templates, applied by hand). */
  static List<Map<String, Object>> snapshots() {
    List<Map<String, Object>> out = new ArrayList<>();
    try (Stream<Path> files = Files.list(Repo.k8s().resolve("snapshots"))) {
      for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
        for (Object doc : Yamls.loadAll(f)) {
          out.add(Yamls.map(doc, f.toString()));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out;
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> flinkConfiguration(Map<String, Object> deployment) {
    Map<String, Object> flat = new LinkedHashMap<>();
    flatten("", (Map<String, Object>) Yamls.at(deployment, "spec.flinkConfiguration"), flat);
    return flat;
  }

  /** Nested flinkConfiguration maps (allowed by Flink 2's YAML config) as dotted keys. */
  @SuppressWarnings("unchecked")
  private static void flatten(String prefix, Map<String, Object> m, Map<String, Object> out) {
    if (m == null) {
      return;
    }
    m.forEach((k, v) -> {
      if (v instanceof Map<?, ?> nested) {
        flatten(prefix + k + ".", (Map<String, Object>) nested, out);
      } else {
        out.put(prefix + k, v);
      }
    });
  }
}
