package dev.vigil.schemas.contracts.cli;

import static dev.vigil.schemas.contracts.cli.CliRun.write;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckCommandTest {
  @TempDir Path dir;
  Path v1;
  Path v2;

  @BeforeEach
  void files() throws Exception {
    v1 = write(dir, "v1.avsc", CliRun.V1);
    v2 = write(dir, "v2.avsc", CliRun.V2);
  }

  @Test
  void compatibleChangeExitsZero() {
    CliRun run = CliRun.of("check", "--schema", v2.toString(), "--previous", v1.toString(),
        "--compatibility", "FULL_TRANSITIVE");
    assertThat(run.exit()).isZero();
    assertThat(run.out()).contains("COMPATIBLE at FULL_TRANSITIVE against v1.avsc");
  }

  @Test
  void incompatibleChangeExitsOneWithRuleFieldTypesAndFix() throws Exception {
    Path candidate = write(dir, "new.avsc", CliRun.NEW_REQUIRED);
    CliRun run = CliRun.of("check", "--schema", candidate.toString(), "--previous", v1.toString(),
        "--previous", v2.toString(), "--compatibility", "BACKWARD_TRANSITIVE");
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.out())
        .contains("READER_FIELD_MISSING_DEFAULT_VALUE  risk", "old type: (absent)",
            "new type: string", "fix:", "INCOMPATIBLE at BACKWARD_TRANSITIVE against v1.avsc, v2.avsc");
  }

  @Test
  void aRemovedConsumerFieldFailsNamingFieldFeatureAndModel() throws Exception {
    Path candidate = write(dir, "new.avsc", CliRun.AMOUNT_REMOVED);
    Path manifest = write(dir, "manifest.json", CliRun.MANIFEST);
    CliRun run = CliRun.of("check", "--schema", candidate.toString(), "--previous", v2.toString(),
        "--compatibility", "BACKWARD", "--consumers", manifest.toString());
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.out())
        .contains("CONSUMER_FIELD_REMOVED", "amount_cents", "card_amount_sum_30d", "fraud-xgb-v3");
  }

  @Test
  void jsonFormatIsOneDocument() throws Exception {
    Path candidate = write(dir, "new.avsc", CliRun.NEW_REQUIRED);
    CliRun run = CliRun.of("check", "--schema", candidate.toString(), "--previous", v2.toString(),
        "--format", "json");
    JsonNode json = new ObjectMapper().readTree(run.out());
    assertThat(run.exit()).isEqualTo(1);
    assertThat(json.get("compatible").asBoolean()).isFalse();
    assertThat(json.get("level").asText()).isEqualTo("BACKWARD");
    assertThat(json.get("violations").get(0).get("rule").asText())
        .isEqualTo("READER_FIELD_MISSING_DEFAULT_VALUE");
    assertThat(json.get("violations").get(0).get("path").asText()).isEqualTo("risk");
    assertThat(json.get("millis").isNumber()).isTrue();
  }

  @Test
  void githubFormatWritesErrorAnnotations() throws Exception {
    Path candidate = write(dir, "new.avsc", CliRun.NEW_REQUIRED);
    CliRun run = CliRun.of("check", "--schema", candidate.toString(), "--previous", v2.toString(),
        "--format", "github");
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.out().lines().filter(l -> l.startsWith("::error file=")))
        .anyMatch(l -> l.contains("title=READER_FIELD_MISSING_DEFAULT_VALUE risk::"));
  }

  @Test
  void aPasswordOnTheCommandLineIsRefusedWithoutEchoingIt() {
    CliRun run = CliRun.of("check", "--schema", v2.toString(), "--registry",
        "http://127.0.0.1:1", "--subject", "s", "--registry-user", "u",
        "--registry-password", "hunter2");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("--registry-password is no longer accepted")
        .contains("$VIGIL_REGISTRY_PASSWORD").doesNotContain("hunter2");
  }

  @Test
  void aMalformedSchemaExitsTwoWithLineAndColumn() throws Exception {
    Path bad = write(dir, "bad.avsc", "{\"type\":\"record\",\n \"fields\": [,]}");
    CliRun run = CliRun.of("check", "--schema", bad.toString(), "--previous", v1.toString());
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("bad.avsc:2:").contains("malformed schema JSON")
        .doesNotContain("Exception");
  }

  @Test
  void anInvalidAvroSchemaExitsTwo() throws Exception {
    Path bad = write(dir, "bad.avsc",
        "{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":\"lnog\"}]}");
    CliRun run = CliRun.of("check", "--schema", bad.toString(), "--previous", v1.toString());
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("bad.avsc").contains("lnog");
  }

  @Test
  void aMissingFileExitsTwo() {
    CliRun run = CliRun.of("check", "--schema", dir.resolve("nope.avsc").toString(),
        "--previous", v1.toString());
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("nope.avsc: no such file");
  }

  @Test
  void anUnknownLevelExitsTwoListingTheLevels() {
    CliRun run = CliRun.of("check", "--schema", v2.toString(), "--previous", v1.toString(),
        "--compatibility", "SIDEWAYS");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("SIDEWAYS", "FULL_TRANSITIVE");
  }

  @Test
  void anUnreachableRegistryExitsTwoNamingIt() {
    CliRun run = CliRun.of("check", "--schema", v2.toString(), "--registry", "http://127.0.0.1:1",
        "--subject", "s-value");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("cannot reach schema registry at http://127.0.0.1:1");
  }

  @Test
  void aBadManifestExitsTwo() throws Exception {
    Path manifest = write(dir, "m.json", "{\"version\":1,\"subjects\":{\"s\":{\"fields\":["
        + "{\"path\":\"no_such_field\",\"type\":\"long\"}]}}}");
    CliRun run = CliRun.of("check", "--schema", v2.toString(), "--previous", v1.toString(),
        "--consumers", manifest.toString());
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("no_such_field");
  }

  @Test
  void nothingToCompareWithIsAUsageError() {
    CliRun run = CliRun.of("check", "--schema", v2.toString());
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("--previous");
  }
}
