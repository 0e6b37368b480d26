package dev.vigil.schemas.contracts;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.schemas.contracts.ContractChecker.Previous;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The checker's verdicts against the cases of Confluent's {@code AvroCompatibilityTest} (all seven
 * levels, transitive and not) and of Avro's reader/writer compatibility suites.
 */
class ContractCheckerTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  static JsonNode resource(String name) throws IOException {
    try (InputStream in = ContractCheckerTest.class.getResourceAsStream("/contracts/" + name)) {
      return JSON.readTree(in);
    }
  }

  static Schema schema(JsonNode node) {
    return new Schema.Parser().parse(node.toString());
  }

  static Stream<Arguments> confluentCases() throws IOException {
    List<Arguments> cases = new ArrayList<>();
    for (JsonNode c : resource("confluent-levels.json")) {
      cases.add(Arguments.of(c.get("level").asText() + ": " + c.get("name").asText(), c));
    }
    return cases.stream();
  }

  static Stream<Arguments> avroPairs() throws IOException {
    List<Arguments> cases = new ArrayList<>();
    for (JsonNode c : resource("reader-writer-pairs.json")) {
      cases.add(Arguments.of(c.get("name").asText(), c));
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("confluentCases")
  void agreesWithConfluentOnItsLevelSuite(String name, JsonNode c) {
    List<Previous> previous = new ArrayList<>();
    int v = 1;
    for (JsonNode p : c.get("previous")) {
      previous.add(new Previous("v" + v++, schema(p)));
    }
    ContractReport report =
        ContractChecker.check(
            schema(c.get("new")), previous, CompatibilityLevel.parse(c.get("level").asText()), null);
    assertThat(report.compatible()).as(name + " " + report.violations()).isEqualTo(
        c.get("compatible").asBoolean());
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("avroPairs")
  void agreesWithAvroOnReaderWriterPairs(String name, JsonNode c) {
    Schema reader = schema(c.get("reader"));
    Schema writer = schema(c.get("writer"));
    boolean expected = c.get("compatible").asBoolean();
    // BACKWARD: the new schema (reader) reads the previous one's data (writer) ...
    assertThat(
            ContractChecker.check(reader, List.of(new Previous("v1", writer)),
                    CompatibilityLevel.BACKWARD, null)
                .compatible())
        .as("BACKWARD " + name)
        .isEqualTo(expected);
    // ... and FORWARD is the same question with the roles swapped.
    assertThat(
            ContractChecker.check(writer, List.of(new Previous("v1", reader)),
                    CompatibilityLevel.FORWARD, null)
                .compatible())
        .as("FORWARD " + name)
        .isEqualTo(expected);
  }

  @Test
  void reportsRuleFieldTypesAndHintForANewRequiredField() {
    Schema v1 = parse("{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}");
    Schema v2 = parse("{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"},"
        + "{\"name\":\"risk\",\"type\":\"long\"}]}");
    ContractReport report =
        ContractChecker.check(v2, List.of(new Previous("v1", v1)), CompatibilityLevel.BACKWARD, null);
    assertThat(report.violations()).singleElement().satisfies(v -> {
      assertThat(v.rule()).isEqualTo("READER_FIELD_MISSING_DEFAULT_VALUE");
      assertThat(v.path()).isEqualTo("risk");
      assertThat(v.oldType()).isEqualTo("(absent)");
      assertThat(v.newType()).isEqualTo("long");
      assertThat(v.against()).isEqualTo("v1");
      assertThat(v.hint()).contains("default");
    });
  }

  @Test
  void namesTheNestedFieldPathOfATypeChange() {
    Schema v1 = parse("{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"billing\",\"type\":"
        + "{\"type\":\"record\",\"name\":\"B\",\"fields\":[{\"name\":\"zip\",\"type\":\"long\"}]}}]}");
    Schema v2 = parse("{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"billing\",\"type\":"
        + "{\"type\":\"record\",\"name\":\"B\",\"fields\":[{\"name\":\"zip\",\"type\":\"int\"}]}}]}");
    ContractReport report =
        ContractChecker.check(v2, List.of(new Previous("v1", v1)), CompatibilityLevel.BACKWARD, null);
    assertThat(report.violations()).singleElement().satisfies(v -> {
      assertThat(v.rule()).isEqualTo("TYPE_MISMATCH");
      assertThat(v.path()).isEqualTo("billing.zip");
      assertThat(v.oldType()).isEqualTo("long");
      assertThat(v.newType()).isEqualTo("int");
    });
  }

  @Test
  void forwardFindsTheRemovedFieldTheOldReaderNeeds() {
    Schema v1 = parse("{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"},"
        + "{\"name\":\"b\",\"type\":\"string\"}]}");
    Schema v2 = parse("{\"type\":\"record\",\"name\":\"T\",\"fields\":[{\"name\":\"a\",\"type\":\"string\"}]}");
    ContractReport report =
        ContractChecker.check(v2, List.of(new Previous("v1", v1)), CompatibilityLevel.FORWARD, null);
    assertThat(report.violations()).singleElement().satisfies(v -> {
      assertThat(v.path()).isEqualTo("b");
      assertThat(v.newType()).isEqualTo("(absent)");
      assertThat(v.message()).contains("removed");
    });
  }

  @Test
  void aSubjectWithoutVersionsIsCompatibleAndSaysSo() {
    Schema v1 = parse("{\"type\":\"record\",\"name\":\"T\",\"fields\":[]}");
    ContractReport report = ContractChecker.check(v1, List.of(), CompatibilityLevel.FULL, null);
    assertThat(report.compatible()).isTrue();
    assertThat(report.notes()).anyMatch(n -> n.contains("no previous version"));
  }

  static Schema parse(String json) {
    return new Schema.Parser().parse(json);
  }
}
