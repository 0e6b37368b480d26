package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Score;
import dev.vigil.avro.Transaction;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every class of bad record lands in the dead-letter topic with its reason and its original bytes;
 * every valid record gets exactly one Score; records in = scored + dead letters. Real broker, real
 * Apicurio registry, MiniCluster at parallelism 2, RocksDB, a two-partition input keyed by card.
 */
class DeadLettersITCase {
  @RegisterExtension static final MiniClusterExtension CLUSTER = TestingJob.cluster();
  @TempDir Path dir;

  @Test
  void everyBadRecordIsDeadLetteredWithItsReasonAndOriginalBytesAndEveryValidOneScoredOnce()
      throws Exception {
    Path model = TestModels.write(dir.resolve("model.json"),
        TestingJob.spec().spec().modelInputs(), -1.0, 1.0);
    Map<String, String> keys = TestingJob.config("dl", model, 2);
    ScoringConfig config = ScoringConfig.of(keys);

    var serializer = TestingJob.txSerializer();
    long base = System.currentTimeMillis() / 60_000 * 60_000 - Duration.ofDays(1).toMillis();
    List<byte[]> recordKeys = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    Map<String, String> expectedReason = new HashMap<>(); // by value identity: index -> reason
    List<String> validIds = new ArrayList<>();
    Transaction dupOf = null;
    for (int i = 0; i < 30; i++) {
      Transaction t = TestingJob.tx("t" + i, "c" + (i % 4), "m" + (i % 3), 1000 + i, base + i * 60_000L);
      if (i == 5) {
        dupOf = t;
      }
      validIds.add(t.getTransactionId());
      add(recordKeys, values, t.getCardId(), serializer.serialize(t));
    }
    // 3 h older than card c1's newest event: late, but valid, so scored (never dead-lettered)
    validIds.add("l1");
    add(recordKeys, values, "c1", serializer.serialize(TestingJob.tx("l1", "c1", "m1", 5,
        base - Duration.ofHours(3).toMillis())));
    List<String> reasons = new ArrayList<>();
    int firstBad = values.size();
    // not framed: plain JSON
    add(recordKeys, values, null, "{\"transaction_id\":\"j1\"}".getBytes(StandardCharsets.UTF_8));
    reasons.add(DeadLetters.NOT_FRAMED);
    // an id the registry never issued
    byte[] good = serializer.serialize(TestingJob.tx("u1", "c1", "m1", 5, base));
    byte[] unknown = good.clone();
    ByteBuffer.wrap(unknown, 1, 4).putInt(987_654);
    add(recordKeys, values, null, unknown);
    reasons.add(DeadLetters.UNKNOWN_SCHEMA_ID);
    // truncated Avro
    add(recordKeys, values, null, Arrays.copyOf(good, good.length / 2));
    reasons.add(DeadLetters.UNDECODABLE);
    // a writer schema the reader cannot read, registered under another subject
    Schema incompatible = new Schema.Parser().parse("""
        {"type":"record","name":"Transaction","namespace":"dev.vigil.avro","fields":[
          {"name":"transaction_id","type":"string"},{"name":"card_id","type":"int"}]}""");
    GenericRecord old = new GenericData.Record(incompatible);
    old.put("transaction_id", "i1");
    old.put("card_id", 7);
    add(recordKeys, values, null, dev.vigil.schemas.serde.AvroWireSerializer
        .forGeneric(TestingJob.registry(), "dl.legacy-value", incompatible).serialize(old));
    reasons.add(DeadLetters.INCOMPATIBLE_WRITER_SCHEMA);
    add(recordKeys, values, null, serializer.serialize(TestingJob.tx("e1", "", "m1", 5, base)));
    reasons.add(DeadLetters.MISSING_ENTITY_KEY);
    // an empty id: not one shared id that would make c1's later empty ids duplicates
    add(recordKeys, values, "c1", serializer.serialize(TestingJob.tx("", "c1", "m1", 5, base)));
    reasons.add(DeadLetters.MISSING_EVENT_ID);
    add(recordKeys, values, "c1", serializer.serialize(TestingJob.tx("f1", "c1", "m1", 5,
        System.currentTimeMillis() + Duration.ofDays(1).toMillis())));
    reasons.add(DeadLetters.EVENT_TIME_OUT_OF_RANGE);
    add(recordKeys, values, "c1", serializer.serialize(TestingJob.tx("o1", "c1", "m1", 5,
        java.time.Instant.parse("1999-12-31T23:59:59Z").toEpochMilli())));
    reasons.add(DeadLetters.EVENT_TIME_OUT_OF_RANGE);
    add(recordKeys, values, "c1", serializer.serialize(TestingJob.tx("n1", "c1", "m1", -5, base)));
    reasons.add(DeadLetters.NEGATIVE_AMOUNT);
    // summed by card_amount_sum_1h: 2^62 twice would wrap the long sum around
    add(recordKeys, values, "c1", serializer.serialize(TestingJob.tx("v1", "c1", "m1", 1L << 62,
        base)));
    reasons.add(DeadLetters.VALUE_OUT_OF_RANGE);
    // a producer retry of t5: same bytes, same card (so same partition), later
    add(recordKeys, values, dupOf.getCardId(), serializer.serialize(dupOf));
    reasons.add(DeadLetters.DUPLICATE);

    List<TestingKafka.Produced> produced = TestingKafka.produce(config.inputTopic(), recordKeys, values);

    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(TestingJob.flink(dir));
    ScoringJob.defineWorkflow(env, config, TestingJob.spec(),
        ScoringJob.source(env, config, OffsetsInitializer.latest()), Sinks.kafka(config));
    env.execute("dead letters");

    List<ConsumerRecord<byte[], byte[]>> scores = TestingKafka.readCommitted(config.scoresTopic());
    List<ConsumerRecord<byte[], byte[]>> features = TestingKafka.readCommitted(config.featuresTopic());
    List<ConsumerRecord<byte[], byte[]>> dead = TestingKafka.readCommitted(config.deadLettersTopic());

    List<String> scoredIds = new ArrayList<>();
    for (var r : scores) {
      Score s = TestingJob.score(r);
      scoredIds.add(s.getTransactionId());
      assertThat(new String(r.key(), StandardCharsets.UTF_8)).isEqualTo(s.getTransactionId());
      assertThat(s.getFeatures()).containsOnlyKeys(TestingJob.spec().spec().modelInputs());
    }
    assertThat(scoredIds).containsExactlyInAnyOrderElementsOf(validIds);
    assertThat(features).hasSize(validIds.size());

    Map<String, TestingKafka.Produced> byPosition = new HashMap<>();
    produced.forEach(p -> byPosition.put(p.partition() + "@" + p.offset(), p));
    Map<String, String> reasonByPosition = new HashMap<>();
    for (int i = firstBad; i < produced.size(); i++) {
      reasonByPosition.put(produced.get(i).partition() + "@" + produced.get(i).offset(),
          reasons.get(i - firstBad));
    }
    List<String> deadReasons = new ArrayList<>();
    for (var r : dead) {
      String position = TestingJob.header(r, DeadLetters.H_PARTITION) + "@"
          + TestingJob.header(r, DeadLetters.H_OFFSET);
      String reason = TestingJob.header(r, DeadLetters.H_REASON);
      deadReasons.add(reason);
      assertThat(reason).as("reason of %s (%s)", position, TestingJob.header(r, DeadLetters.H_MESSAGE))
          .isEqualTo(reasonByPosition.get(position));
      assertThat(r.value()).as("original bytes of %s", position)
          .isEqualTo(byPosition.get(position).value());
      assertThat(TestingJob.header(r, DeadLetters.H_TOPIC)).isEqualTo(config.inputTopic());
      assertThat(TestingJob.header(r, DeadLetters.H_MESSAGE)).isNotBlank();
      assertThat(java.time.Instant.parse(TestingJob.header(r, DeadLetters.H_TIME))).isNotNull();
      int index = produced.indexOf(byPosition.get(position));
      if (reason.equals(DeadLetters.DUPLICATE)) {
        assertThat(TestingJob.header(r, DeadLetters.H_TASK)).contains("score");
      } else {
        assertThat(TestingJob.header(r, DeadLetters.H_TASK)).contains("decode + validate");
        assertThat(TestingJob.header(r, TestingKafka.PRODUCED_INDEX))
            .as("the source record's own header, copied").isEqualTo(Integer.toString(index));
      }
      if (reason.equals(DeadLetters.UNDECODABLE)) {
        assertThat(TestingJob.header(r, DeadLetters.H_EXCEPTION_CLASS)).as("the Avro error")
            .isNotBlank();
      }
    }
    assertThat(deadReasons).containsExactlyInAnyOrderElementsOf(reasons);
    assertThat(produced).hasSize(scores.size() + dead.size());
  }

  private static void add(List<byte[]> keys, List<byte[]> values, String key, byte[] value) {
    keys.add(key == null ? null : key.getBytes(StandardCharsets.UTF_8));
    values.add(value);
  }
}
