package dev.vigil.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The kustomize subset renderer does what kustomize does, and refuses what it does not imitate. */
class KustomizeTest {
  @TempDir Path dir;

  private static final String HEADER =
      "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n";
  private static final String DEPLOYMENT = """
      apiVersion: flink.apache.org/v1beta1
      kind: FlinkDeployment
      metadata: {name: job}
      spec:
        image: a
        flinkConfiguration: {x.y: "1", keep: "k"}
        job: {args: [--a, "1"], parallelism: 2}
        podTemplate:
          spec:
            volumes: [{name: v1}]
      """;

  private Path write(String name, String text) throws IOException {
    Path p = dir.resolve(name);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text);
    return p;
  }

  private Map<String, Object> onlyDeployment(Path kdir) {
    return Manifests.one(Kustomize.build(kdir), "flink.apache.org/v1beta1", "FlinkDeployment",
        kdir.toString());
  }

  @Test
  void strategicMergeMergesMapsReplacesScalarsAndScalarListsAndDeletesOnNull() throws Exception {
    write("base/d.yaml", DEPLOYMENT);
    write("base/kustomization.yaml", HEADER + "resources: [d.yaml]\n");
    write("o/p.yaml", """
        apiVersion: flink.apache.org/v1beta1
        kind: FlinkDeployment
        metadata: {name: job}
        spec:
          image: b
          flinkConfiguration: {x.y: "2", keep: null, added: "3"}
          job: {args: [--b]}
        """);
    write("o/kustomization.yaml", HEADER + "resources: [../base]\npatches:\n  - path: p.yaml\n");
    Map<String, Object> d = onlyDeployment(dir.resolve("o"));
    assertThat(Yamls.at(d, "spec.image")).isEqualTo("b");
    assertThat(Yamls.at(d, "spec.flinkConfiguration")).isEqualTo(Map.of("x.y", "2", "added", "3"));
    assertThat(Yamls.at(d, "spec.job")).isEqualTo(Map.of("args", List.of("--b"),
        "parallelism", 2));
  }

  @Test
  void aStrategicMergeOfAListOfMappingsIsRefusedPointingAtJson6902() throws Exception {
    write("base/d.yaml", DEPLOYMENT);
    write("base/kustomization.yaml", HEADER + "resources: [d.yaml]\n");
    write("o/p.yaml", """
        apiVersion: flink.apache.org/v1beta1
        kind: FlinkDeployment
        metadata: {name: job}
        spec: {podTemplate: {spec: {volumes: [{name: v2}]}}}
        """);
    write("o/kustomization.yaml", HEADER + "resources: [../base]\npatches:\n  - path: p.yaml\n");
    assertThatThrownBy(() -> Kustomize.build(dir.resolve("o")))
        .hasMessageContaining("list of mappings at 'spec.podTemplate.spec.volumes'")
        .hasMessageContaining("JSON 6902");
  }

  @Test
  void json6902AddsAppendsReplacesAndRemoves() throws Exception {
    write("base/d.yaml", DEPLOYMENT);
    write("base/kustomization.yaml", HEADER + "resources: [d.yaml]\n");
    write("o/ops.yaml", """
        - {op: add, path: /spec/podTemplate/spec/volumes/-, value: {name: v3}}
        - {op: add, path: /spec/podTemplate/spec/volumes/0, value: {name: v0}}
        - {op: replace, path: /spec/job/parallelism, value: 4}
        - {op: remove, path: /spec/flinkConfiguration/keep}
        - {op: add, path: /spec/flinkConfiguration/a~1b, value: "slash"}
        """);
    write("o/kustomization.yaml", HEADER + """
        resources: [../base]
        patches:
          - path: ops.yaml
            target: {group: flink.apache.org, version: v1beta1, kind: FlinkDeployment, name: job}
        """);
    Map<String, Object> d = onlyDeployment(dir.resolve("o"));
    assertThat(Yamls.at(d, "spec.podTemplate.spec.volumes")).isEqualTo(List.of(
        Map.of("name", "v0"), Map.of("name", "v1"), Map.of("name", "v3")));
    assertThat(Yamls.at(d, "spec.job.parallelism")).isEqualTo(4);
    assertThat(Yamls.at(d, "spec.flinkConfiguration")).isEqualTo(Map.of("x.y", "1", "a/b",
        "slash"));
  }

  @Test
  void json6902RefusesOtherOpsAndMissingPaths() {
    Map<String, Object> d = Yamls.map(Yamls.loadString(DEPLOYMENT), "d");
    assertThatThrownBy(() -> Kustomize.json6902(d, Map.of("op", "move", "path", "/spec/image"),
        "t")).hasMessageContaining("op 'move' is outside the subset");
    assertThatThrownBy(() -> Kustomize.json6902(d, Map.of("op", "replace", "path",
        "/spec/nothing", "value", 1), "t")).hasMessageContaining("nothing there");
    assertThatThrownBy(() -> Kustomize.json6902(d, Map.of("op", "add", "path",
        "/spec/podTemplate/spec/volumes/5", "value", 1), "t"))
        .hasMessageContaining("not an index from 0 to 1");
  }

  @Test
  void configMapGeneratorCreatesReplacesAndMerges() throws Exception {
    write("base/a.properties", "a=1\n");
    write("base/b.txt", "b\n");
    write("base/kustomization.yaml", HEADER + """
        generatorOptions: {disableNameSuffixHash: true}
        configMapGenerator:
          - {name: one, files: [a.properties]}
          - {name: two, files: [renamed=b.txt]}
        """);
    write("o/a.properties", "a=2\n");
    write("o/c.txt", "c\n");
    write("o/kustomization.yaml", HEADER + """
        resources: [../base]
        generatorOptions: {disableNameSuffixHash: true}
        configMapGenerator:
          - {name: one, behavior: replace, files: [a.properties]}
          - {name: two, behavior: merge, files: [c.txt]}
        """);
    List<Map<String, Object>> r = Kustomize.build(dir.resolve("o"));
    assertThat(Kustomize.find(r, "v1", "ConfigMap", "one").get("data"))
        .isEqualTo(Map.of("a.properties", "a=2\n"));
    assertThat(Kustomize.find(r, "v1", "ConfigMap", "two").get("data"))
        .isEqualTo(Map.of("renamed", "b\n", "c.txt", "c\n"));
  }

  @Test
  void whatIsOutsideTheSubsetIsRefused() throws Exception {
    write("x/kustomization.yaml", HEADER + "namePrefix: dev-\n");
    assertThatThrownBy(() -> Kustomize.build(dir.resolve("x")))
        .hasMessageContaining("field 'namePrefix' is outside the kustomize subset");

    write("h/a.txt", "a");
    write("h/kustomization.yaml", HEADER + "configMapGenerator:\n  - {name: a, files: [a.txt]}\n");
    assertThatThrownBy(() -> Kustomize.build(dir.resolve("h")))
        .hasMessageContaining("hash suffix");

    write("outside.txt", "o");
    write("l/kustomization.yaml", HEADER + """
        generatorOptions: {disableNameSuffixHash: true}
        configMapGenerator:
          - {name: a, files: [../outside.txt]}
        """);
    assertThatThrownBy(() -> Kustomize.build(dir.resolve("l")))
        .hasMessageContaining("load restrictor");

    write("n/d.yaml", DEPLOYMENT);
    write("n/p.yaml", DEPLOYMENT.replace("name: job", "name: other"));
    write("n/kustomization.yaml", HEADER + "resources: [d.yaml]\npatches:\n  - path: p.yaml\n");
    assertThatThrownBy(() -> Kustomize.build(dir.resolve("n")))
        .hasMessageContaining("matches no resource");
  }
}
