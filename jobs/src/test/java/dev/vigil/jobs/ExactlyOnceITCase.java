package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Score;
import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.io.KeyPartitioner;
import dev.vigil.transforms.offline.PointInTimeEvaluator;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly-once under failure: EXACTLY_ONCE sinks, checkpoints every 500 ms, three failures
 * injected mid-stream (each restart from the last checkpoint, with the events waiting in the
 * event-time stages restored from it); a read_committed consumer sees one Score per input, and the
 * feature vectors of both entities equal the offline point-in-time evaluation of the same input.
 * The input topic has 4 partitions keyed by card, the job runs at parallelism 2.
 */
class ExactlyOnceITCase {
  @RegisterExtension static final MiniClusterExtension CLUSTER = TestingJob.cluster();
  @TempDir Path dir;

  static final int EVENTS = 300;

  @Test
  void withFailuresInjectedMidStreamAReadCommittedConsumerSeesOneScorePerInputAndTheBackfillsValues()
      throws Exception {
    CompiledSpec spec = TestingJob.spec();
    Path model = TestModels.write(dir.resolve("model.json"), spec.spec().modelInputs(), -1.0, 1.0);
    ScoringConfig config = ScoringConfig.of(TestingJob.config("eo", model, 4));
    List<Transaction> txs = events(EVENTS, 6, 3, 20_000);

    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(TestingJob.flink(dir));
    // Each partition's end: where each card's events land, as the producer's partitioner puts them.
    Map<TopicPartition, Long> ends = new HashMap<>();
    for (int p = 0; p < 4; p++) {
      ends.put(new TopicPartition(config.inputTopic(), p), 0L);
    }
    for (Transaction t : txs) {
      ends.merge(new TopicPartition(config.inputTopic(),
          KeyPartitioner.partition(t.getCardId(), 4)), 1L, Long::sum);
    }
    var stopAtEnd = OffsetsInitializer.offsets(ends);
    var source = ScoringJob.source(env, config, stopAtEnd)
        // offsets in any partition: with 4 partitions of ~75 events each, mid-stream
        .map(new FailAtOffsets(new long[] {30, 40, 60}, dir.resolve("failures")),
            RawRecordDeserializer.TYPE)
        .uid("test-failure-injector")
        .name("test: failure injector");
    ScoringJob.defineWorkflow(env, config, spec, source, Sinks.kafka(config));
    long started = System.currentTimeMillis();
    JobClient job = env.executeAsync("exactly once under failure");

    // In three batches, each produced once the previous one is committed: the failures then hit
    // a job that has completed checkpoints, and restarts resume from them, not from the start.
    produce(config, txs.subList(0, 100));
    awaitCommittedScores(config, 100);
    produce(config, txs.subList(100, 200));
    awaitCommittedScores(config, 200);
    produce(config, txs.subList(200, EVENTS));
    job.getJobExecutionResult().get(2, TimeUnit.MINUTES);

    try (var failures = Files.list(dir.resolve("failures"))) {
      assertThat(failures.count()).as("injected failures").isEqualTo(3);
    }
    var scores = TestingKafka.readCommitted(config.scoresTopic());
    List<String> ids = new ArrayList<>();
    for (var r : scores) {
      Score score = TestingJob.score(r);
      ids.add(score.getTransactionId());
      // stamped when written, not with the event time (2 days back): retention cannot take it
      assertThat(r.timestamp()).as("Kafka timestamp of %s", score.getTransactionId())
          .isGreaterThanOrEqualTo(started)
          .isGreaterThan(score.getEventTime().toEpochMilli() + Duration.ofDays(1).toMillis());
    }
    assertThat(ids).hasSize(EVENTS).doesNotHaveDuplicates()
        .containsExactlyInAnyOrderElementsOf(txs.stream().map(Transaction::getTransactionId).toList());
    assertThat(TestingKafka.readCommitted(config.deadLettersTopic())).isEmpty();

    Map<String, FeatureVector> vectors = new HashMap<>();
    for (var r : TestingKafka.readCommitted(config.featuresTopic())) {
      FeatureVector v = TestingJob.features(r);
      assertThat(vectors.put(v.getTransactionId(), v)).as("one vector per id").isNull();
    }
    PointInTimeEvaluator offline = new PointInTimeEvaluator(spec);
    List<String> names = spec.spec().featureNames();
    for (Transaction t : txs) { // in event-time order already
      FeatureRow expected = offline.process(t);
      Map<String, Object> actual = vectors.get(t.getTransactionId()).getFeatures();
      Map<String, Object> want = new HashMap<>();
      for (int i = 0; i < names.size(); i++) {
        want.put(names.get(i), expected.values()[i]);
      }
      assertThat(actual).as("features of %s", t.getTransactionId()).isEqualTo(want);
    }
  }

  /** {@code n} in-order events of {@code cards} cards at {@code merchants} merchants. */
  static List<Transaction> events(int n, int cards, int merchants, long stepMillis) {
    SplittableRandom random = new SplittableRandom(11);
    long base = System.currentTimeMillis() / 60_000 * 60_000 - Duration.ofDays(2).toMillis();
    List<Transaction> txs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      txs.add(TestingJob.tx(String.format("t%04d", i), "c" + random.nextInt(cards),
          "m" + random.nextInt(merchants), random.nextInt(1, 50_000), base + i * stepMillis));
    }
    return txs;
  }

  static void produce(ScoringConfig config, List<Transaction> txs) {
    var serializer = TestingJob.txSerializer();
    List<byte[]> keys = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    for (Transaction t : txs) {
      keys.add(t.getCardId().getBytes(StandardCharsets.UTF_8));
      values.add(serializer.serialize(t));
    }
    TestingKafka.produce(config.inputTopic(), keys, values);
  }

  /** Polls (deadline 60 s) until {@code n} distinct transactions have a committed Score. */
  static void awaitCommittedScores(ScoringConfig config, int n) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    int seen = 0;
    while (System.nanoTime() < deadline) {
      var ids = new HashSet<String>();
      for (var r : TestingKafka.readCommitted(config.scoresTopic())) {
        ids.add(new String(r.key(), StandardCharsets.UTF_8));
      }
      seen = ids.size();
      if (seen >= n) {
        return;
      }
      TimeUnit.MILLISECONDS.sleep(100); // poll interval, not synchronisation
    }
    throw new AssertionError("only " + seen + " of " + n + " scores committed within 60 s");
  }
}
