package dev.vigil.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every FlinkDeployment and FlinkStateSnapshot the k8s/ folder renders validates strictly against
 * the operator's CRD schemas in ../shared/k8s-crds: the API server would silently prune an unknown
 * (misspelt) field, so here it is an error.
 */
class ManifestSchemaTest {
  private static final Crds CRDS = Crds.load(Repo.crdDir());

  static List<String> targets() {
    return Manifests.TARGETS;
  }

  @ParameterizedTest
  @MethodSource("targets")
  void everyCustomResourceOfARenderValidatesAgainstItsCrd(String target) {
    List<Map<String, Object>> rendered = Manifests.render(target);
    List<String> errors = new ArrayList<>();
    int checked = 0;
    for (Map<String, Object> r : rendered) {
      if (String.valueOf(r.get("apiVersion")).startsWith("flink.apache.org/")) {
        assertThat(CRDS.knows(r)).as("%s: a CRD for %s %s", target, r.get("apiVersion"),
            r.get("kind")).isTrue();
        errors.addAll(CRDS.validate(r));
        checked++;
      }
    }
    assertThat(errors).as(target).isEmpty();
    assertThat(checked).as("custom resources in " + target).isEqualTo(1);
  }

  @Test
  void theSnapshotTemplatesValidateAgainstTheFlinkStateSnapshotCrd() {
    List<Map<String, Object>> snapshots = Manifests.snapshots();
    assertThat(snapshots).isNotEmpty();
    for (Map<String, Object> s : snapshots) {
      assertThat(s.get("kind")).isEqualTo("FlinkStateSnapshot");
      assertThat(CRDS.validate(s)).isEmpty();
      assertThat(Yamls.at(s, "spec.jobReference.name"))
          .isEqualTo(Kustomize.name(Manifests.flinkDeployment("base"), "base"));
    }
  }

  @Test
  void aMisspeltFieldIsRejectedNamingTheRightOne() {
    Map<String, Object> d = Manifests.flinkDeployment("base");
    job(d).put("upgradMode", "savepoint");
    assertThat(CRDS.validate(d)).containsExactly(
        "FlinkDeployment/vigil-scoring.spec.job.upgradMode: unknown field (did you mean"
            + " 'upgradeMode'?)");
  }

  @Test
  void aMisspeltFieldDeepInThePodTemplateIsRejected() {
    Map<String, Object> d = Manifests.flinkDeployment("base");
    @SuppressWarnings("unchecked")
    Map<String, Object> mount = (Map<String, Object>) Yamls.at(d,
        "spec.podTemplate.spec.containers.0.volumeMounts.0");
    mount.put("mountpath", mount.remove("mountPath"));
    // (The operator's CRDs declare no required fields, so the missing mountPath is not reported.)
    assertThat(CRDS.validate(d)).containsExactly(
        "FlinkDeployment/vigil-scoring.spec.podTemplate.spec.containers[0].volumeMounts[0]"
            + ".mountpath: unknown field (did you mean 'mountPath'?)");
  }

  @Test
  void aWrongEnumValueIsRejected() {
    Map<String, Object> d = Manifests.flinkDeployment("base");
    job(d).put("upgradeMode", "save-point");
    spec(d).put("flinkVersion", "v2_2_0");
    assertThat(CRDS.validate(d)).containsExactlyInAnyOrder(
        "FlinkDeployment/vigil-scoring.spec.job.upgradeMode: 'save-point' is not one of"
            + " [last-state, savepoint, stateless]",
        "FlinkDeployment/vigil-scoring.spec.flinkVersion: 'v2_2_0' is not one of [v1_13, v1_14,"
            + " v1_15, v1_16, v1_17, v1_18, v1_19, v1_20, v2_0, v2_1, v2_2, v2_3, v2_4]");
  }

  @Test
  void aWrongTypeIsRejected() {
    Map<String, Object> d = Manifests.flinkDeployment("base");
    job(d).put("parallelism", "4");
    job(d).put("args", "--config /opt/vigil/config/scoring.properties");
    @SuppressWarnings("unchecked")
    Map<String, Object> resource = (Map<String, Object>) Yamls.at(d, "spec.taskManager.resource");
    resource.put("cpu", "two");
    assertThat(CRDS.validate(d)).containsExactlyInAnyOrder(
        "FlinkDeployment/vigil-scoring.spec.job.parallelism: expected an integer, found string"
            + " '4'",
        "FlinkDeployment/vigil-scoring.spec.job.args: expected an array, found string '--config"
            + " /opt/vigil/config/scoring.prope…'",
        "FlinkDeployment/vigil-scoring.spec.taskManager.resource.cpu: expected a number, found"
            + " string 'two'");
  }

  @Test
  void intOrStringAndAdditionalPropertiesAreHonoured() {
    Map<String, Object> d = Manifests.flinkDeployment("base");
    @SuppressWarnings("unchecked")
    Map<String, Object> container = (Map<String, Object>) Yamls.at(d,
        "spec.podTemplate.spec.containers.0");
    container.put("resources", Map.of("limits", Map.of("memory", "2Gi", "cpu", 2)));
    assertThat(CRDS.validate(d)).isEmpty();
    container.put("resources", Map.of("limits", Map.of("memory", true)));
    @SuppressWarnings("unchecked")
    Map<String, Object> labels = (Map<String, Object>) Yamls.at(d, "metadata.labels");
    labels.put("tier", 1);
    assertThat(CRDS.validate(d)).containsExactlyInAnyOrder(
        "FlinkDeployment/vigil-scoring.spec.podTemplate.spec.containers[0].resources.limits"
            + ".memory: expected an integer or a string, found boolean 'true'",
        "FlinkDeployment/vigil-scoring.metadata.labels.tier: expected a string, found integer"
            + " '1'");
  }

  @Test
  void unknownMetadataAndAStatusAreRejected() {
    Map<String, Object> d = Manifests.flinkDeployment("base");
    @SuppressWarnings("unchecked")
    Map<String, Object> meta = (Map<String, Object>) d.get("metadata");
    meta.put("lables", Map.of());
    d.put("status", Map.of());
    assertThat(CRDS.validate(d)).containsExactlyInAnyOrder(
        "FlinkDeployment/vigil-scoring.metadata.lables: unknown field (did you mean 'labels'?)",
        "FlinkDeployment/vigil-scoring.status: a manifest does not set the status");
  }

  @Test
  void aRequiredFieldIsEnforced() {
    Map<String, Object> d = Manifests.flinkDeployment("base");
    @SuppressWarnings("unchecked")
    Map<String, Object> meta = (Map<String, Object>) d.get("metadata");
    meta.remove("name");
    assertThat(CRDS.validate(d)).containsExactly(
        "FlinkDeployment/null.metadata: required field 'name' is missing");
  }

  @Test
  void aSnapshotWithAWrongJobKindIsRejected() {
    Map<String, Object> s = Manifests.snapshots().get(0);
    @SuppressWarnings("unchecked")
    Map<String, Object> ref = (Map<String, Object>) Yamls.at(s, "spec.jobReference");
    ref.put("kind", "Deployment");
    assertThat(CRDS.validate(s)).singleElement().asString()
        .contains("spec.jobReference.kind: 'Deployment' is not one of");
  }

  @Test
  void aMissingCrdFolderFailsNamingThePath() {
    assertThatThrownBy(() -> Crds.load(Path.of("/nonexistent/shared/k8s-crds")))
        .hasMessageContaining("/nonexistent/shared/k8s-crds");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> spec(Map<String, Object> d) {
    return (Map<String, Object>) d.get("spec");
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> job(Map<String, Object> d) {
    return (Map<String, Object>) spec(d).get("job");
  }
}
