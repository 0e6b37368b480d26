package dev.vigil.schemas.contracts;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.schemas.contracts.ContractChecker.Previous;
import java.util.List;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

class ConsumerContractTest {
  static final Schema V1 =
      new Schema.Parser().parse(
          "{\"type\":\"record\",\"name\":\"Transaction\",\"fields\":["
              + "{\"name\":\"transaction_id\",\"type\":\"string\"},"
              + "{\"name\":\"amount_cents\",\"type\":\"long\",\"default\":0},"
              + "{\"name\":\"merchant_id\",\"type\":\"string\",\"default\":\"\"}]}");

  static ConsumerManifest.Subject manifest() throws Exception {
    String json =
        "{\"version\":1,\"subjects\":{\"payments.transactions-value\":{\"fields\":["
            + "{\"path\":\"amount_cents\",\"type\":\"long\",\"features\":[\"card_amount_sum_30d\"],"
            + "\"models\":[\"fraud-xgb-v3\"]},"
            + "{\"path\":\"merchant_id\",\"type\":\"string\","
            + "\"features\":[\"card_distinct_merchants_7d\"],\"models\":[\"fraud-xgb-v3\"]}]}}}";
    return ConsumerManifest.parse(new ObjectMapper().readTree(json), "test").subject(null);
  }

  static Schema v2(String fields) {
    return new Schema.Parser().parse(
        "{\"type\":\"record\",\"name\":\"Transaction\",\"fields\":["
            + "{\"name\":\"transaction_id\",\"type\":\"string\"}" + fields + "]}");
  }

  static ContractReport check(Schema candidate, CompatibilityLevel level) throws Exception {
    return ContractChecker.check(candidate, List.of(new Previous("v1", V1)), level, manifest());
  }

  @Test
  void aRemovedReadFieldFailsNamingFieldFeatureAndModelEvenWhenAvroAccepts() throws Exception {
    Schema candidate = v2(",{\"name\":\"merchant_id\",\"type\":\"string\",\"default\":\"\"}");
    // Removing a field with a default is FULL-compatible for Avro: readers get the default.
    assertThat(ContractChecker.check(candidate, List.of(new Previous("v1", V1)),
        CompatibilityLevel.FULL_TRANSITIVE, null).compatible()).isTrue();

    ContractReport report = check(candidate, CompatibilityLevel.FULL_TRANSITIVE);
    assertThat(report.violations()).singleElement().satisfies(v -> {
      assertThat(v.rule()).isEqualTo("CONSUMER_FIELD_REMOVED");
      assertThat(v.path()).isEqualTo("amount_cents");
      assertThat(v.message())
          .contains("amount_cents", "card_amount_sum_30d", "fraud-xgb-v3", "default");
      assertThat(v.features()).containsExactly("card_amount_sum_30d");
      assertThat(v.models()).containsExactly("fraud-xgb-v3");
    });
  }

  @Test
  void aRenameWithoutAliasIsCalledARename() throws Exception {
    Schema candidate = v2(",{\"name\":\"amount_minor\",\"type\":\"long\",\"default\":0},"
        + "{\"name\":\"merchant_id\",\"type\":\"string\",\"default\":\"\"}");
    ContractReport report = check(candidate, CompatibilityLevel.NONE);
    assertThat(report.violations()).singleElement().satisfies(v -> {
      assertThat(v.rule()).isEqualTo("CONSUMER_FIELD_RENAMED");
      assertThat(v.message()).contains("amount_minor", "without an alias");
      assertThat(v.hint()).contains("aliases");
    });
  }

  @Test
  void aRenameWithAnAliasIsFine() throws Exception {
    Schema candidate = v2(",{\"name\":\"amount_minor\",\"type\":\"long\",\"default\":0,"
        + "\"aliases\":[\"amount_cents\"]},{\"name\":\"merchant_id\",\"type\":\"string\",\"default\":\"\"}");
    assertThat(check(candidate, CompatibilityLevel.FULL).compatible()).isTrue();
  }

  @Test
  void aRetypedReadFieldFails() throws Exception {
    Schema candidate = v2(",{\"name\":\"amount_cents\",\"type\":[\"null\",\"long\"],\"default\":null},"
        + "{\"name\":\"merchant_id\",\"type\":\"string\",\"default\":\"\"}");
    ContractReport report = check(candidate, CompatibilityLevel.BACKWARD);
    assertThat(report.violations()).singleElement().satisfies(v -> {
      assertThat(v.rule()).isEqualTo("CONSUMER_FIELD_RETYPED");
      assertThat(v.oldType()).isEqualTo("long");
      assertThat(v.newType()).isEqualTo("[\"null\",\"long\"]");
    });
  }

  @Test
  void aManifestFieldMissingFromTheCurrentSchemaIsABadManifest() throws Exception {
    Schema current = v2("");
    assertThatThrownBy(() -> manifest().requirePresentIn(current, "v3"))
        .isInstanceOf(ConsumerManifest.ManifestException.class)
        .hasMessageContaining("amount_cents")
        .hasMessageContaining("v3");
  }

  @Test
  void writesTheDocumentedFormatAndReadsItBack() throws Exception {
    ConsumerManifest written = new ConsumerManifest(
        java.util.Map.of("s", new ConsumerManifest.Subject("s", manifest().fields())));
    ConsumerManifest read =
        ConsumerManifest.parse(new ObjectMapper().readTree(written.toJson()), "round trip");
    assertThat(read).isEqualTo(written);
  }
}
