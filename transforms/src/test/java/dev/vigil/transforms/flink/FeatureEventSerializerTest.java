package dev.vigil.transforms.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import java.time.Instant;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.common.typeutils.TypeSerializerSchemaCompatibility;
import org.apache.flink.api.common.typeutils.TypeSerializerSnapshot;
import org.apache.flink.core.memory.DataInputDeserializer;
import org.apache.flink.core.memory.DataOutputSerializer;
import org.junit.jupiter.api.Test;

/** The hand-written serializer of the events between the stages: exact round trips, no Kryo. */
class FeatureEventSerializerTest {
  static final String SCHEMA = Transaction.getClassSchema().toString();

  static FeatureEvent sample() {
    Transaction tx = Transaction.newBuilder().setTransactionId("t1").setCardId("c1")
        .setMerchantId("m1").setAmountCents(1234).setCurrency("EUR")
        .setEventTime(Instant.parse("2026-03-01T12:00:00.123Z")).setChannel(Channel.POS)
        .setDeviceId(null).setCountry("DE").build();
    FeatureEvent e = new FeatureEvent(tx, 42, 6);
    e.values[0] = 7L;
    e.values[1] = 12.5;
    e.values[2] = "m9";
    e.values[3] = Boolean.TRUE;
    e.values[4] = Boolean.FALSE;
    e.late = true; // values[5] stays null
    e.duplicate = true;
    return e;
  }

  static FeatureEvent roundTrip(TypeSerializer<FeatureEvent> s, FeatureEvent e) throws Exception {
    DataOutputSerializer out = new DataOutputSerializer(64);
    s.serialize(e, out);
    return s.deserialize(new DataInputDeserializer(out.getCopyOfBuffer()));
  }

  @Test
  void everyValueTypeAndNullSurviveARoundTrip() throws Exception {
    FeatureEventSerializer s = new FeatureEventSerializer(SCHEMA, 6);
    FeatureEvent e = sample();
    FeatureEvent back = roundTrip(s, e);
    assertThat(back).isEqualTo(e);
    assertThat(back.event).isInstanceOf(Transaction.class).isEqualTo(e.event);
    assertThat(back.values).containsExactly(7L, 12.5, "m9", true, false, null);
    assertThat(back.late).isTrue();
    assertThat(back.duplicate).isTrue();
    // the serializer reuses its buffers: a second, different event must not see the first
    FeatureEvent other = new FeatureEvent(e.event, 43, 6);
    assertThat(roundTrip(s, other)).isEqualTo(other);
  }

  @Test
  void aFlatRecordGoesFieldByFieldAndReadsBackAsAvroWouldHaveReadIt() throws Exception {
    FeatureEventSerializer s = new FeatureEventSerializer(SCHEMA, 6);
    FeatureEvent e = sample();
    DataOutputSerializer out = new DataOutputSerializer(64);
    s.serialize(e, out);
    byte[] flat = out.getCopyOfBuffer();
    assertThat(flat[8] & 4).as("the flat-record flag").isEqualTo(4);
    // The same event in the Avro form (what the serializer wrote before): still read.
    Transaction tx = (Transaction) e.event;
    var avro = new java.io.ByteArrayOutputStream();
    var encoder = org.apache.avro.io.EncoderFactory.get().binaryEncoder(avro, null);
    new org.apache.avro.specific.SpecificDatumWriter<Transaction>(Transaction.getClassSchema())
        .write(tx, encoder);
    encoder.flush();
    DataOutputSerializer old = new DataOutputSerializer(64);
    old.writeLong(e.seq);
    old.writeByte(1 | 2);
    old.writeInt(avro.size());
    old.write(avro.toByteArray());
    byte[] rest = java.util.Arrays.copyOfRange(flat, 9 + flatRecordLength(s, e), flat.length);
    old.write(rest);
    FeatureEvent fromAvro = s.deserialize(new DataInputDeserializer(old.getCopyOfBuffer()));
    FeatureEvent fromFlat = s.deserialize(new DataInputDeserializer(flat));
    assertThat(fromFlat).isEqualTo(fromAvro).isEqualTo(e);
    Transaction a = (Transaction) fromAvro.event;
    Transaction f = (Transaction) fromFlat.event;
    for (int i = 0; i < Transaction.getClassSchema().getFields().size(); i++) {
      Object av = a.get(i);
      Object fv = f.get(i);
      assertThat(fv).as("field %d", i).isEqualTo(av);
      if (av != null) {
        assertThat(fv.getClass()).as("field %d's class", i).isEqualTo(av.getClass());
      }
    }
    // A generic record (no specific class, Utf8 strings) goes flat as well; SpecificData converts
    // its timestamps as Avro's reader would.
    org.apache.avro.Schema generic = new org.apache.avro.Schema.Parser().parse(
        "{\"type\":\"record\",\"name\":\"G\",\"namespace\":\"nowhere\",\"fields\":["
            + "{\"name\":\"s\",\"type\":\"string\"},"
            + "{\"name\":\"t\",\"type\":{\"type\":\"long\",\"logicalType\":\"timestamp-millis\"}},"
            + "{\"name\":\"o\",\"type\":[\"null\",\"double\"]}]}");
    FeatureEventSerializer g = new FeatureEventSerializer(generic.toString(), 1);
    var record = new org.apache.avro.generic.GenericData.Record(generic);
    record.put(0, new org.apache.avro.util.Utf8("x"));
    record.put(1, Instant.ofEpochMilli(5));
    record.put(2, 2.5);
    FeatureEvent ge = new FeatureEvent(record, 1, 1);
    FeatureEvent gb = roundTrip(g, ge);
    assertThat(gb.event).isEqualTo(record);
    assertThat(gb.event.get(0)).isInstanceOf(org.apache.avro.util.Utf8.class);
    assertThat(gb.event.get(1)).isEqualTo(Instant.ofEpochMilli(5));
  }

  private static int flatRecordLength(FeatureEventSerializer s, FeatureEvent e) throws Exception {
    DataOutputSerializer out = new DataOutputSerializer(64);
    FeatureEvent noValues = new FeatureEvent(e.event, e.seq, 0);
    s.serialize(noValues, out);
    return out.length() - 9 - 4; // seq, flags; the value count of zero values
  }

  @Test
  void aCopyIsIndependentOfTheOriginal() {
    FeatureEventSerializer s = new FeatureEventSerializer(SCHEMA, 6);
    FeatureEvent e = sample();
    FeatureEvent copy = s.copy(e);
    assertThat(copy).isEqualTo(e);
    copy.values[0] = 8L;
    ((Transaction) copy.event).setAmountCents(1);
    assertThat(e.values[0]).isEqualTo(7L);
    assertThat(((Transaction) e.event).getAmountCents()).isEqualTo(1234L);
  }

  @Test
  void theTypeInformationCreatesThisSerializerNotKryo() {
    var config = new SerializerConfigImpl();
    config.setGenericTypes(false); // what every Vigil environment sets
    TypeSerializer<FeatureEvent> s = new FeatureEventTypeInfo(SCHEMA, 6).createSerializer(config);
    assertThat(s).isInstanceOf(FeatureEventSerializer.class)
        .isEqualTo(new FeatureEventSerializer(SCHEMA, 6));
  }

  @Test
  void theSnapshotRestoresAnEqualSerializerCompatibleAsIs() throws Exception {
    FeatureEventSerializer s = new FeatureEventSerializer(SCHEMA, 6);
    DataOutputSerializer out = new DataOutputSerializer(64);
    TypeSerializerSnapshot.writeVersionedSnapshot(out, s.snapshotConfiguration());
    TypeSerializerSnapshot<FeatureEvent> read = TypeSerializerSnapshot.readVersionedSnapshot(
        new DataInputDeserializer(out.getCopyOfBuffer()), getClass().getClassLoader());
    assertThat(read.restoreSerializer()).isEqualTo(s);
    TypeSerializerSchemaCompatibility<FeatureEvent> same =
        s.snapshotConfiguration().resolveSchemaCompatibility(read);
    assertThat(same.isCompatibleAsIs()).isTrue();
    TypeSerializerSchemaCompatibility<FeatureEvent> moreFeatures =
        new FeatureEventSerializer(SCHEMA, 7).snapshotConfiguration().resolveSchemaCompatibility(read);
    assertThat(moreFeatures.isCompatibleAsIs()).isFalse();
  }
}
