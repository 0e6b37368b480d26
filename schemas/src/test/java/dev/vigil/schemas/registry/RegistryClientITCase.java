package dev.vigil.schemas.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import dev.vigil.schemas.serde.AvroWireDeserializer;
import dev.vigil.schemas.serde.AvroWireSerializer;
import dev.vigil.schemas.serde.WireFormatException;
import dev.vigil.infra.registry.ApicurioRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.UUID;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The client and the wire format against a real Apicurio Registry's Confluent API. */
class RegistryClientITCase {

  private static SchemaRegistryClient client;

  @BeforeAll
  static void startRegistry() {
    client = SchemaRegistryClient.of(ApicurioRegistry.shared().confluentApiUrl());
    client.setGlobalCompatibility("BACKWARD");
  }

  private static String freshSubject() {
    return "it-" + UUID.randomUUID() + "-value";
  }

  private static Transaction transaction(String id) {
    return Transaction.newBuilder()
        .setTransactionId(id)
        .setCardId("c1")
        .setMerchantId("m1")
        .setAmountCents(1234L)
        .setCurrency("EUR")
        .setEventTime(Instant.parse("2026-03-01T12:00:00.123Z"))
        .setChannel(Channel.POS)
        .setDeviceId(null)
        .setCountry("DE")
        .build();
  }

  @Test
  void registersLooksUpSerializesAndDeserializesThroughTheRegistry() throws Exception {
    String subject = freshSubject();
    int id = client.register(subject, Transaction.getClassSchema());
    assertThat(client.register(subject, Transaction.getClassSchema())).isEqualTo(id);

    SchemaRegistryClient fresh = SchemaRegistryClient.of(client.config().baseUrl());
    assertThat(fresh.schemaById(id)).isEqualTo(Transaction.getClassSchema());
    assertThat(fresh.latest(subject).id()).isEqualTo(id);
    assertThat(fresh.latest(subject).version()).isEqualTo(1);
    assertThat(fresh.lookup(subject, Transaction.getClassSchema()).id()).isEqualTo(id);

    AvroWireSerializer<Transaction> serializer =
        AvroWireSerializer.forSpecific(client, subject, Transaction.class);
    byte[] bytes = serializer.serialize(transaction("t1"));
    assertThat(bytes[0]).isZero();
    assertThat(serializer.schemaId()).isEqualTo(id);

    AvroWireDeserializer<Transaction> deserializer =
        AvroWireDeserializer.forSpecific(fresh, Transaction.class);
    assertThat(deserializer.deserialize(bytes)).isEqualTo(transaction("t1"));
  }

  @Test
  void anOldReaderReadsRecordsOfACompatibleNewerWriter() throws Exception {
    String subject = freshSubject();
    client.register(subject, Transaction.getClassSchema());
    Schema v2 = withExtraOptionalField(Transaction.getClassSchema(), "terminal_id");
    assertThat(client.testCompatibility(subject, v2).compatible()).isTrue();
    int v2Id = client.register(subject, v2);

    GenericRecord record = new GenericData.Record(v2);
    Transaction t = transaction("t2");
    for (Schema.Field f : Transaction.getClassSchema().getFields()) {
      record.put(f.name(), t.get(f.pos()));
    }
    record.put("channel", new GenericData.EnumSymbol(v2.getField("channel").schema(), "POS"));
    record.put("event_time", t.getEventTime().toEpochMilli());
    record.put("terminal_id", "T-9");
    byte[] bytes = AvroWireSerializer.forGeneric(client, subject, v2).serialize(record);
    assertThat(bytes).startsWith(0, 0, 0, 0).hasSizeGreaterThan(5);

    Transaction read = AvroWireDeserializer.forSpecific(client, Transaction.class).deserialize(bytes);
    assertThat(read).isEqualTo(t);
    assertThat(client.allVersions(subject)).extracting(SchemaRegistryClient.SchemaVersion::id)
        .endsWith(v2Id);
  }

  @Test
  void rejectsAnIncompatibleChangeInTheTestAndAtRegistration() {
    String subject = freshSubject();
    client.register(subject, Transaction.getClassSchema());
    Schema breaking =
        withExtraField(Transaction.getClassSchema(), "risk_band", Schema.create(Schema.Type.STRING));

    assertThat(client.compatibility(subject)).isEqualTo("BACKWARD");
    assertThat(client.testCompatibility(subject, breaking).compatible()).isFalse();
    assertThatThrownBy(() -> client.register(subject, breaking))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> {
              assertThat(e.kind()).isEqualTo(RegistryException.Kind.INCOMPATIBLE);
              assertThat(e.httpStatus()).isEqualTo(409);
            })
        .hasMessageContaining(subject)
        .hasMessageContaining("incompatible");
  }

  @Test
  void aSubjectLevelOverridesTheGlobalOne() {
    // Removing a field without a default is BACKWARD-compatible (the global level) but not FULL.
    // (Not NONE: Apicurio 3.0.9 stores a subject level of NONE as "no rule", so the global applies.)
    String subject = freshSubject();
    client.register(subject, Transaction.getClassSchema());
    Schema withoutCurrency = without(Transaction.getClassSchema(), "currency");
    assertThat(client.testCompatibility(subject, withoutCurrency).compatible()).isTrue();

    client.setCompatibility(subject, "FULL");
    assertThat(client.compatibility(subject)).isEqualTo("FULL");
    assertThat(client.testCompatibility(subject, withoutCurrency).compatible()).isFalse();
    assertThatThrownBy(() -> client.register(subject, withoutCurrency))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> assertThat(e.kind()).isEqualTo(RegistryException.Kind.INCOMPATIBLE));
  }

  static Schema without(Schema base, String name) {
    java.util.List<Schema.Field> fields = new java.util.ArrayList<>();
    for (Schema.Field f : base.getFields()) {
      if (!f.name().equals(name)) {
        fields.add(new Schema.Field(f, f.schema()));
      }
    }
    return Schema.createRecord(
        base.getName(), base.getDoc(), base.getNamespace(), base.isError(), fields);
  }

  @Test
  void anUnknownSchemaIdIsItsOwnDeadLetterReason() {
    byte[] framed = {0, 0x7f, 0x00, 0x00, 0x01, 2, 'x'};
    assertThatThrownBy(
            () -> AvroWireDeserializer.forSpecific(client, Transaction.class).deserialize(framed))
        .isInstanceOfSatisfying(
            WireFormatException.UnknownSchemaId.class,
            e -> {
              assertThat(e.reasonCode()).isEqualTo("unknown_schema_id");
              assertThat(e.schemaId()).isEqualTo(0x7f000001);
            });
    assertThatThrownBy(() -> client.schemaById(0x7f000001))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> assertThat(e.kind()).isEqualTo(RegistryException.Kind.NOT_FOUND));
  }

  @Test
  void aMissingSubjectIsNotFoundNamingIt() {
    assertThatThrownBy(() -> client.version(freshSubject(), "latest"))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> assertThat(e.kind()).isEqualTo(RegistryException.Kind.NOT_FOUND))
        .hasMessageContaining("not found");
  }

  @Test
  void anUnreachableRegistryFailsAfterRetriesNamingTheUrl() {
    SchemaRegistryClient nowhere =
        new SchemaRegistryClient(
            RegistryConfig.of("http://127.0.0.1:1")
                .withRetries(3, Duration.ofMillis(10), Duration.ofMillis(50)));
    assertThatThrownBy(() -> nowhere.latest("s"))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> assertThat(e.kind()).isEqualTo(RegistryException.Kind.UNAVAILABLE))
        .hasMessageContaining("http://127.0.0.1:1")
        .hasMessageContaining("after 3 attempts");
  }

  @Test
  void knownIdsKeepDecodingWhenTheRegistryIsGone() throws Exception {
    String subject = freshSubject();
    byte[] bytes =
        AvroWireSerializer.forSpecific(client, subject, Transaction.class)
            .serialize(transaction("t3"));
    // The client cached the id when it registered it: decoding needs no further call.
    AvroWireDeserializer<Transaction> deserializer =
        AvroWireDeserializer.forSpecific(client, Transaction.class);
    assertThat(deserializer.deserialize(bytes).getTransactionId()).isEqualTo("t3");

    SchemaRegistryClient unreachable =
        new SchemaRegistryClient(
            RegistryConfig.of("http://127.0.0.1:1")
                .withRetries(2, Duration.ofMillis(10), Duration.ofMillis(20)));
    assertThatThrownBy(
            () -> AvroWireDeserializer.forSpecific(unreachable, Transaction.class).deserialize(bytes))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> assertThat(e.kind()).isEqualTo(RegistryException.Kind.UNAVAILABLE));
  }

  static Schema withExtraOptionalField(Schema base, String name) {
    return withExtra(base, name, SchemaBuilder.unionOf().nullType().and().stringType().endUnion(), true);
  }

  static Schema withExtraField(Schema base, String name, Schema type) {
    return withExtra(base, name, type, false);
  }

  private static Schema withExtra(Schema base, String name, Schema type, boolean nullDefault) {
    java.util.List<Schema.Field> fields = new java.util.ArrayList<>();
    for (Schema.Field f : base.getFields()) {
      fields.add(new Schema.Field(f, f.schema()));
    }
    fields.add(
        nullDefault
            ? new Schema.Field(name, type, null, Schema.Field.NULL_DEFAULT_VALUE)
            : new Schema.Field(name, type, null, (Object) null));
    return Schema.createRecord(
        base.getName(), base.getDoc(), base.getNamespace(), base.isError(), fields);
  }
}
