package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Decision;
import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Score;
import dev.vigil.avro.ShadowScore;
import dev.vigil.schemas.registry.SchemaLookup;
import dev.vigil.schemas.serde.AvroWireSerializer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;

class OutputEncodersTest {
  static final int RECORDS = 20_000;
  static final String[] KEYS = {"card_txn_count_1h", "card_amount_sum_1h", "card_amount_max_1h",
      "merchant_txn_count_1h", "", "ключ_π", "日本語", "emoji_\uD83D\uDE00",
      "a_rather_long_feature_name_that_is_over_sixty_four_characters_long_to_take_the_slow_path"};
  static final String[] STRINGS = {"", "c1", "t-000001", "héllo", "Zürich", "日本語のテキスト",
      "\uD83D\uDE00\uD83D\uDE01", "\u0000nul",
      "x".repeat(63), "x".repeat(64), "y".repeat(200), "é".repeat(40), "\u007f\u0080\u07ff\u0800\uffff"};
  static final long[] LONGS = {0, 1, -1, 63, 64, -64, -65, 127, 128, 8191, 8192, Integer.MAX_VALUE,
      Integer.MIN_VALUE, Long.MAX_VALUE, Long.MIN_VALUE, Long.MAX_VALUE / 2, 1L << 62};
  static final double[] DOUBLES = {0.0, -0.0, 1.0, -1.5, Double.NaN,
      Double.longBitsToDouble(0x7ff8000000000123L), Double.POSITIVE_INFINITY,
      Double.NEGATIVE_INFINITY, Double.MIN_VALUE, Double.MAX_VALUE, 1e-300, 0.5};

  @Test
  void theEncodersMatchTheirSchemas() {
    assertThat(OutputEncoders.forType(Score.class))
        .as("Score's schema changed: update OutputEncoders and SCORE_SHAPE").isNotNull();
    assertThat(OutputEncoders.forType(FeatureVector.class))
        .as("FeatureVector's schema changed: update OutputEncoders and FEATURE_VECTOR_SHAPE")
        .isNotNull();
    assertThat(OutputEncoders.forType(dev.vigil.avro.DeadLetter.class)).isNull();
  }

  @Test
  void scoresAreWrittenByteForByteAsSpecificDatumWriterWritesThem() throws Exception {
    Random random = new Random(20260301);
    OutputEncoders.Encoder<Score> encoder = OutputEncoders.forType(Score.class);
    OutputEncoders.Buffer buffer = new OutputEncoders.Buffer(16); // small: grows
    List<Score> records = new ArrayList<>(edgeScores());
    for (int i = 0; i < RECORDS; i++) {
      records.add(randomScore(random));
    }
    for (Score s : records) {
      assertRoundTrip(Score.class, s, encoder, buffer);
    }
  }

  @Test
  void featureVectorsAreWrittenByteForByteAsSpecificDatumWriterWritesThem() throws Exception {
    Random random = new Random(42);
    OutputEncoders.Encoder<FeatureVector> encoder = OutputEncoders.forType(FeatureVector.class);
    OutputEncoders.Buffer buffer = new OutputEncoders.Buffer(16);
    List<FeatureVector> records = new ArrayList<>(edgeVectors());
    for (int i = 0; i < RECORDS; i++) {
      records.add(randomVector(random));
    }
    for (FeatureVector v : records) {
      assertRoundTrip(FeatureVector.class, v, encoder, buffer);
    }
  }

  @Test
  void theWireFrameIsTheOneAvroWireSerializerWrites() {
    for (int id : new int[] {0, 1, 7, 255, 256, 0x01020304, Integer.MAX_VALUE, -1}) {
      Random random = new Random(id);
      Score s = randomScore(random);
      FeatureVector v = randomVector(random);
      assertThat(AvroRecordSerializer.frame(id, OutputEncoders.forType(Score.class),
          new OutputEncoders.Buffer(8), s))
          .isEqualTo(AvroWireSerializer.forSpecific(lookup(id), "s-value", Score.class).serialize(s));
      assertThat(AvroRecordSerializer.frame(id, OutputEncoders.forType(FeatureVector.class),
          new OutputEncoders.Buffer(8), v))
          .isEqualTo(AvroWireSerializer.forSpecific(lookup(id), "f-value", FeatureVector.class)
              .serialize(v));
    }
  }

  @Test
  void aRecordTheEncoderDoesNotExpectIsLeftToTheGenericWriter() {
    OutputEncoders.Encoder<Score> scores = OutputEncoders.forType(Score.class);
    OutputEncoders.Encoder<FeatureVector> vectors = OutputEncoders.forType(FeatureVector.class);
    OutputEncoders.Buffer buffer = new OutputEncoders.Buffer(64);
    Score s = randomScore(new Random(1));
    Map<String, Object> odd = new HashMap<>();
    odd.put("an_int", 5); // not in the union: SpecificDatumWriter throws
    s.setFeatures(odd);
    assertThat(scores.encode(s, buffer)).isFalse();
    s = randomScore(new Random(2));
    s.setModelVersion(null);
    assertThat(scores.encode(s, buffer)).isFalse();
    s = randomScore(new Random(3));
    s.setShadow(new ShadowScore("v", 0.5, null));
    assertThat(scores.encode(s, buffer)).isFalse();
    FeatureVector v = randomVector(new Random(4));
    Map<String, String> keys = new HashMap<>();
    keys.put("card", null);
    v.setEntityKeys(keys);
    assertThat(vectors.encode(v, buffer)).isFalse();
    v = randomVector(new Random(5));
    v.setFeatures(null);
    assertThat(vectors.encode(v, buffer)).isFalse();
  }

  @Test
  void unpairedSurrogatesAreReplacedAsStringGetBytesReplacesThem() throws Exception {
    OutputEncoders.Buffer buffer = new OutputEncoders.Buffer(16);
    for (String bad : new String[] {"lone \uD800 surrogate", "tail \uDC00", "\uD800",
        "x".repeat(70) + "\uDBFF"}) {
      Map<String, Object> features = new LinkedHashMap<>();
      features.put(bad, bad);
      Instant t = Instant.ofEpochMilli(1);
      Score s = new Score(bad, t, t, bad, 0.5, Decision.REVIEW, features,
          new ShadowScore(bad, 0.1, Decision.APPROVE));
      assertThat(encoded(OutputEncoders.forType(Score.class), s, buffer))
          .isEqualTo(specific(Score.class, s));
      FeatureVector v = new FeatureVector(bad, t, bad, Map.of(bad, bad), features);
      assertThat(encoded(OutputEncoders.forType(FeatureVector.class), v, buffer))
          .isEqualTo(specific(FeatureVector.class, v));
    }
  }

  static <T> byte[] encoded(OutputEncoders.Encoder<T> encoder, T record,
      OutputEncoders.Buffer buffer) {
    buffer.reset();
    assertThat(encoder.encode(record, buffer)).as("encoded %s", record).isTrue();
    return buffer.toByteArray();
  }

  static <T extends SpecificRecord> byte[] specific(Class<T> type, T record) throws IOException {
    ByteArrayOutputStream expected = new ByteArrayOutputStream();
    BinaryEncoder e = EncoderFactory.get().directBinaryEncoder(expected, null);
    new SpecificDatumWriter<T>(SpecificData.get().getSchema(type)).write(record, e);
    e.flush();
    return expected.toByteArray();
  }

  /** The encoder's bytes equal SpecificDatumWriter's, and SpecificDatumReader reads them back. */
  static <T extends SpecificRecord> void assertRoundTrip(Class<T> type, T record,
      OutputEncoders.Encoder<T> encoder, OutputEncoders.Buffer buffer) throws IOException {
    Schema schema = SpecificData.get().getSchema(type);
    byte[] actual = encoded(encoder, record, buffer);
    assertThat(actual).as("bytes of %s", record).isEqualTo(specific(type, record));
    T back = new SpecificDatumReader<T>(schema)
        .read(null, DecoderFactory.get().binaryDecoder(actual, null));
    assertSameValues(back, record);
  }

  /** Field by field with Java's equals (a record's own equals finds NaN unequal to itself). */
  static void assertSameValues(SpecificRecord actual, SpecificRecord expected) {
    assertThat(actual.getSchema()).isEqualTo(expected.getSchema());
    for (Schema.Field f : expected.getSchema().getFields()) {
      Object a = actual.get(f.pos());
      Object e = expected.get(f.pos());
      if (a instanceof SpecificRecord ar && e instanceof SpecificRecord er) {
        assertSameValues(ar, er);
      } else {
        assertThat(a).as("%s of %s", f.name(), expected).isEqualTo(e);
      }
    }
  }

  static List<Score> edgeScores() {
    List<Score> out = new ArrayList<>();
    Instant epoch = Instant.ofEpochMilli(0);
    for (Decision d : Decision.values()) {
      out.add(new Score("", epoch, epoch, "", 0.0, d, new HashMap<>(), null));
      out.add(new Score("t", epoch, epoch, "m@1", 1.0, d, new HashMap<>(),
          new ShadowScore("", 0.0, d)));
      for (Decision sd : Decision.values()) {
        out.add(new Score("t", epoch, epoch, "m@1", 0.5, d, oneOfEach(),
            new ShadowScore("shadow@2", Double.NaN, sd)));
      }
    }
    Map<String, Object> nulls = new LinkedHashMap<>();
    for (String k : KEYS) {
      nulls.put(k, null);
    }
    out.add(new Score("ü", Instant.ofEpochMilli(Long.MAX_VALUE), Instant.ofEpochMilli(Long.MIN_VALUE),
        "日本", -0.0, Decision.REVIEW, nulls, null));
    out.add(new Score("x", Instant.parse("2026-03-01T12:00:00.123456789Z"),
        Instant.ofEpochMilli(-1), "v", Double.MAX_VALUE, Decision.APPROVE, oneOfEach(), null));
    return out;
  }

  static List<FeatureVector> edgeVectors() {
    List<FeatureVector> out = new ArrayList<>();
    Instant epoch = Instant.ofEpochMilli(0);
    out.add(new FeatureVector("", epoch, "", new HashMap<>(), new HashMap<>()));
    out.add(new FeatureVector("t", epoch, "fp", Map.of("card", "c1"), new HashMap<>()));
    out.add(new FeatureVector("t", epoch, "fp", new HashMap<>(), oneOfEach()));
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("card", "kärtchen");
    keys.put("merchant", "");
    keys.put("日本", "\uD83D\uDE00");
    out.add(new FeatureVector("ü", Instant.ofEpochMilli(Long.MIN_VALUE), "ß", keys, oneOfEach()));
    return out;
  }

  static Map<String, Object> oneOfEach() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("null", null);
    m.put("long", -42L);
    m.put("double", 2.5);
    m.put("string", "wörd");
    m.put("empty", "");
    return m;
  }

  static Score randomScore(Random r) {
    Decision[] decisions = Decision.values();
    ShadowScore shadow = r.nextBoolean() ? null
        : new ShadowScore(string(r), r.nextBoolean() ? r.nextDouble() : pick(r, DOUBLES),
            decisions[r.nextInt(decisions.length)]);
    return new Score(string(r), instant(r), instant(r), string(r),
        r.nextBoolean() ? r.nextDouble() : pick(r, DOUBLES), decisions[r.nextInt(decisions.length)],
        features(r), shadow);
  }

  static FeatureVector randomVector(Random r) {
    Map<String, String> keys = mapOf(r);
    int n = r.nextInt(4);
    for (int i = 0; i < n; i++) {
      keys.put(pick(r, KEYS), string(r));
    }
    return new FeatureVector(string(r), instant(r), string(r), keys, features(r));
  }

  static Map<String, Object> features(Random r) {
    Map<String, Object> m = mapOf(r);
    int n = r.nextInt(10) == 0 ? 0 : r.nextInt(KEYS.length + 1);
    for (int i = 0; i < n; i++) {
      // now and then a key of thousands: more than the key cache holds
      m.put(r.nextInt(20) == 0 ? "random_" + r.nextInt(3000) : pick(r, KEYS), value(r));
    }
    return m;
  }

  static <V> Map<String, V> mapOf(Random r) {
    return switch (r.nextInt(3)) {
      case 0 -> new HashMap<>();
      case 1 -> new LinkedHashMap<>();
      default -> new TreeMap<>();
    };
  }

  static Object value(Random r) {
    return switch (r.nextInt(4)) {
      case 0 -> null;
      case 1 -> r.nextBoolean() ? (Object) r.nextLong() : (Object) LONGS[r.nextInt(LONGS.length)];
      case 2 -> r.nextBoolean() ? (Object) (r.nextGaussian() * 1e6) : (Object) pick(r, DOUBLES);
      default -> string(r);
    };
  }

  static String string(Random r) {
    if (r.nextBoolean()) {
      return STRINGS[r.nextInt(STRINGS.length)];
    }
    int len = r.nextInt(r.nextInt(10) == 0 ? 300 : 20);
    StringBuilder b = new StringBuilder(len);
    for (int i = 0; i < len; i++) {
      int kind = r.nextInt(10);
      if (kind < 6) {
        b.append((char) (0x20 + r.nextInt(0x5f)));
      } else if (kind < 8) {
        b.append((char) (0x80 + r.nextInt(0x780)));
      } else if (kind < 9) {
        b.append((char) (0x800 + r.nextInt(0xd000)));
      } else {
        b.appendCodePoint(0x10000 + r.nextInt(0x10000));
      }
    }
    return b.toString();
  }

  static Instant instant(Random r) {
    return switch (r.nextInt(4)) {
      case 0 -> Instant.ofEpochMilli(LONGS[r.nextInt(LONGS.length)]);
      case 1 -> Instant.ofEpochMilli(1_772_366_400_000L + r.nextInt(1_000_000_000));
      default -> Instant.ofEpochMilli(r.nextLong() >> r.nextInt(40));
    };
  }

  static double pick(Random r, double[] values) {
    return values[r.nextInt(values.length)];
  }

  static String pick(Random r, String[] values) {
    return values[r.nextInt(values.length)];
  }

  static SchemaLookup lookup(int id) {
    return new SchemaLookup() {
      @Override
      public Schema schemaById(int i) {
        throw new UnsupportedOperationException();
      }

      @Override
      public int register(String subject, Schema schema) {
        return id;
      }
    };
  }
}
