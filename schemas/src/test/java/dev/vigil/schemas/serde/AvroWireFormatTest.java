package dev.vigil.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import dev.vigil.schemas.registry.RegistryException;
import dev.vigil.schemas.testing.InMemorySchemaLookup;
import java.time.Instant;
import java.util.Arrays;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.junit.jupiter.api.Test;

class AvroWireFormatTest {
  private final InMemorySchemaLookup registry = new InMemorySchemaLookup();
  private final AvroWireSerializer<Transaction> serializer =
      AvroWireSerializer.forSpecific(registry, "payments.transactions-value", Transaction.class);
  private final AvroWireDeserializer<Transaction> deserializer =
      AvroWireDeserializer.forSpecific(registry, Transaction.class);

  static Transaction transaction() {
    return Transaction.newBuilder()
        .setTransactionId("t1")
        .setCardId("c1")
        .setMerchantId("m1")
        .setAmountCents(999L)
        .setCurrency("EUR")
        .setEventTime(Instant.ofEpochMilli(1_772_366_400_123L))
        .setChannel(Channel.ECOMMERCE)
        .setDeviceId("d1")
        .setCountry(null)
        .build();
  }

  @Test
  void roundTripsThroughTheFrame() throws Exception {
    byte[] bytes = serializer.serialize(transaction());
    assertThat(bytes[0]).isZero();
    assertThat(ConfluentWireFormat.schemaIdOf(bytes)).isEqualTo(serializer.schemaId());
    assertThat(deserializer.deserialize(bytes)).isEqualTo(transaction());
  }

  @Test
  void unframedBytesAreNotFramed() {
    for (byte[] bad : new byte[][] {null, {}, {0, 0, 0}, "{\"a\":1}".getBytes()}) {
      assertThatThrownBy(() -> deserializer.deserialize(bad))
          .isInstanceOfSatisfying(
              WireFormatException.NotFramed.class,
              e -> assertThat(e.reasonCode()).isEqualTo("not_framed"));
    }
  }

  @Test
  void anUnknownIdIsUnknownSchemaId() {
    assertThatThrownBy(() -> deserializer.deserialize(new byte[] {0, 0, 0, 0, 42, 2}))
        .isInstanceOfSatisfying(
            WireFormatException.UnknownSchemaId.class, e -> assertThat(e.schemaId()).isEqualTo(42));
  }

  @Test
  void truncatedAvroIsUndecodable() {
    byte[] bytes = serializer.serialize(transaction());
    byte[] truncated = Arrays.copyOf(bytes, bytes.length - 6);
    assertThatThrownBy(() -> deserializer.deserialize(truncated))
        .isInstanceOfSatisfying(
            WireFormatException.Undecodable.class,
            e -> assertThat(e.reasonCode()).isEqualTo("undecodable"));
  }

  @Test
  void trailingBytesAreUndecodable() {
    byte[] bytes = serializer.serialize(transaction());
    byte[] longer = Arrays.copyOf(bytes, bytes.length + 3);
    assertThatThrownBy(() -> deserializer.deserialize(longer))
        .isInstanceOf(WireFormatException.Undecodable.class)
        .hasMessageContaining("left over");
  }

  @Test
  void corruptUnionIndexIsUndecodable() {
    byte[] bytes = serializer.serialize(transaction());
    byte[] corrupt = bytes.clone();
    corrupt[corrupt.length - 1] = 0x7f; // the country union index: 63 branches do not exist
    assertThatThrownBy(() -> deserializer.deserialize(corrupt))
        .isInstanceOf(WireFormatException.Undecodable.class);
  }

  @Test
  void aWriterTheReaderCannotReadIsIncompatibleWriterSchemaEveryTime() {
    Schema other =
        SchemaBuilder.record("Transaction").namespace("dev.vigil.avro").fields()
            .requiredLong("transaction_id").endRecord();
    GenericRecord record = new GenericData.Record(other);
    record.put("transaction_id", 7L);
    byte[] bytes = AvroWireSerializer.forGeneric(registry, "s", other).serialize(record);
    for (int i = 0; i < 2; i++) {
      assertThatThrownBy(() -> deserializer.deserialize(bytes))
          .isInstanceOfSatisfying(
              WireFormatException.IncompatibleWriterSchema.class,
              e -> assertThat(e.reasonCode()).isEqualTo("incompatible_writer_schema"))
          .hasMessageContaining("transaction_id");
    }
  }

  @Test
  void registryDownIsNotBadDataKnownIdsKeepWorkingAndAnUnknownIdIsAskedForAgain() throws Exception {
    byte[] bytes = serializer.serialize(transaction());
    deserializer.deserialize(bytes);
    registry.setUnavailable(true);
    assertThat(deserializer.deserialize(bytes)).isEqualTo(transaction());
    AvroWireDeserializer<Transaction> cold = AvroWireDeserializer.forSpecific(registry, Transaction.class);
    assertThatThrownBy(() -> cold.deserialize(bytes))
        .isInstanceOfSatisfying(
            RegistryException.class,
            e -> assertThat(e.kind()).isEqualTo(RegistryException.Kind.UNAVAILABLE));
    registry.setUnavailable(false);
    assertThat(cold.deserialize(bytes)).as("nothing about the id was cached").isEqualTo(transaction());
  }
}
