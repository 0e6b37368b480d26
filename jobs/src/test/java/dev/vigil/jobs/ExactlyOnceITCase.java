package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Score;
import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.FeatureRow;
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
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exactly-once under failure, over input partitions {1, 4} x parallelism {2, 4}: EXACTLY_ONCE
 * sinks, checkpoints every 500 ms, bad records among the valid ones, and six failures: three
 * injected in the source task mid-stream, one when a checkpoint completes (racing the sinks'
 * commit of it), one in the scores sink's writer and one in the score operator (each restart from
 * the last checkpoint, with the events waiting in the event-time stages restored from it). A
 * read_committed consumer sees one Score per valid input and one dead letter per bad one, the
 * feature vectors of both entities equal the offline point-in-time evaluation of the same input,
 * and the job's reconciliation gauges add up.
 */
class ExactlyOnceITCase {
  @RegisterExtension static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
      new org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration.Builder()
          .setConfiguration(TestingMetrics.addTo(new org.apache.flink.configuration.Configuration()))
          .setNumberTaskManagers(1).setNumberSlotsPerTaskManager(4).build());
  @TempDir Path dir;

  static final int EVENTS = 400;
  static final int BATCHES = 4;
  /** Bad records per batch of 100 valid ones: not framed (plain text). */
  static final int BAD_PER_BATCH = 2;

  @org.junit.jupiter.params.ParameterizedTest(name = "{0} partitions, parallelism {1}")
  // One partition: readers without a partition, and every record of a batch through one reader
  // that goes idle between batches (the case that found FeatureStage#processWatermarkStatus).
  @org.junit.jupiter.params.provider.CsvSource({"1, 2", "1, 4", "4, 2", "4, 4"})
  void withFailuresInjectedMidStreamAReadCommittedConsumerSeesOneScorePerInputAndTheBackfillsValues(
      int partitions, int parallelism) throws Exception {
    CompiledSpec spec = TestingJob.spec();
    Path model = TestModels.write(dir.resolve("model.json"), spec.spec().modelInputs(), -1.0, 1.0);
    String name = "eo" + partitions + "x" + parallelism;
    Map<String, String> keys = TestingJob.config(name, model, partitions);
    keys.put("parallelism", Integer.toString(parallelism));
    ScoringConfig config = ScoringConfig.of(keys);
    List<Transaction> txs = events(EVENTS, 6, 3, 20_000);

    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(TestingJob.flink(dir));
    // Unbounded, as deployed: a bounded source's reader that finishes early (a partition at its
    // end, or a reader without a split) emits the final watermark, and once the other readers
    // go idle between batches that watermark makes every later event late (seen: 400 of 600
    // stage events late at 1 partition and parallelism 2, half the vectors wrong).
    var source = ScoringJob.source(env, config, null)
        // offsets in any partition: with 4 partitions of ~75 events each, mid-stream
        .map(new FailAtOffsets(new long[] {30, 40, 60}, dir.resolve("failures")),
            RawRecordDeserializer.TYPE)
        .uid("test-failure-injector")
        .name("test: failure injector")
        // the fourth failure, in the attempt after the three above: when a checkpoint completes
        .map(new FailOnCheckpointComplete(3, dir.resolve("failures")), RawRecordDeserializer.TYPE)
        .uid("test-commit-failure-injector")
        .name("test: failure at a checkpoint's completion");
    // the fifth failure, in attempt 4: the scores sink's writer, at its fifth write; the sixth, in
    // attempt 5: the score operator, at its first event (one that attempt 4 did not commit)
    Sinks kafka = Sinks.kafka(config);
    Sinks sinks = new Sinks(((FailSafeKafkaSink<Score>) kafka.scores()).probed(
        new FailAtNth<>(4, 5, dir.resolve("failures"), "scores sink writer")),
        kafka.features(), kafka.deadLetters());
    ScoringJob.defineWorkflow(env, config, spec, source, sinks,
        new FailAtNth<>(5, 1, dir.resolve("failures"), "score operator"));
    long started = System.currentTimeMillis();
    JobClient job = env.executeAsync(name);

    // In four batches, each produced once the previous one is committed: the failures then hit
    // a job that has completed checkpoints, and restarts resume from them, not from the start.
    // The fourth batch comes after the first four failures, for the sink's and the score
    // operator's (at 4 partitions the source's offsets come late in the third batch).
    produceWithBad(config, txs.subList(0, 100));
    awaitCommittedScores(config, 100);
    produceWithBad(config, txs.subList(100, 200));
    awaitCommittedScores(config, 200);
    produceWithBad(config, txs.subList(200, 300));
    awaitCommittedScores(config, 300);
    awaitFiles(dir.resolve("failures"), 4); // the commit failure may come after the commit
    produceWithBad(config, txs.subList(300, EVENTS));
    awaitCommittedScores(config, EVENTS);
    awaitFiles(dir.resolve("failures"), 6);
    awaitCommittedScores(config, EVENTS);
    // The run-time reconciliation, after four restores: as of a checkpoint, per partition, every
    // record read is scored, dead-lettered or waiting in a stage.
    TestingMetrics.Reconciliation reconciled =
        awaitReconciled(name, EVENTS + BAD_PER_BATCH * BATCHES);
    assertThat(reconciled.total("scored")).as("scored, %s", reconciled).isEqualTo(EVENTS);
    assertThat(reconciled.total("dead_lettered")).as("dead-lettered, %s", reconciled)
        .isEqualTo(BAD_PER_BATCH * BATCHES);
    // the live attempt's, for a failure message
    String lateCounted = "card " + TestingMetrics.sum(name, "features.card", "late") + ", merchant "
        + TestingMetrics.sum(name, "features.merchant", "late") + ", forced "
        + TestingMetrics.sum(name, "forced");
    job.cancel().get(1, TimeUnit.MINUTES);
    try (var failures = Files.list(dir.resolve("failures"))) {
      assertThat(failures.count()).as("injected failures").isEqualTo(6);
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
    var dead = TestingKafka.readCommitted(config.deadLettersTopic());
    assertThat(dead).as("one dead letter per bad record").hasSize(BAD_PER_BATCH * BATCHES);
    assertThat(dead.stream().map(r -> TestingJob.header(r, DeadLetters.H_PARTITION) + "@"
        + TestingJob.header(r, DeadLetters.H_OFFSET))).doesNotHaveDuplicates();
    assertThat(dead).allSatisfy(r -> assertThat(TestingJob.header(r, DeadLetters.H_REASON))
        .isEqualTo(DeadLetters.NOT_FRAMED));

    Map<String, FeatureVector> vectors = new HashMap<>();
    for (var r : TestingKafka.readCommitted(config.featuresTopic())) {
      FeatureVector v = TestingJob.features(r);
      assertThat(vectors.put(v.getTransactionId(), v)).as("one vector per id").isNull();
    }
    PointInTimeEvaluator offline = new PointInTimeEvaluator(spec);
    List<String> names = spec.spec().featureNames();
    List<String> mismatches = new ArrayList<>();
    for (Transaction t : txs) { // in event-time order already
      FeatureRow expected = offline.process(t);
      Map<String, Object> actual = vectors.get(t.getTransactionId()).getFeatures();
      Map<String, Object> want = new HashMap<>();
      for (int i = 0; i < names.size(); i++) {
        want.put(names.get(i), expected.values()[i]);
      }
      if (!actual.equals(want)) {
        mismatches.add(t.getTransactionId() + " (" + t.getCardId() + ", " + t.getMerchantId()
            + ", " + t.getEventTime() + "): streamed " + actual + ", offline " + want);
      }
    }
    assertThat(mismatches).as("feature vectors that differ from the offline evaluation (late"
        + " events counted by the stages: %s)", lateCounted).isEmpty();
  }

  /**
   * Polls (deadline 60 s) the reconciliation gauges of job {@code name} until, as of one
   * checkpoint, {@code in} records were read; every reading on the way has nothing unaccounted.
   */
  static TestingMetrics.Reconciliation awaitReconciled(String name, long in) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    TestingMetrics.Reconciliation r = null;
    while (System.nanoTime() < deadline) {
      TestingMetrics.Reconciliation now = TestingMetrics.reconciliation(name);
      if (now != null) {
        r = now;
        assertThat(r.unaccounted()).as("records read - scored - dead-lettered - in flight, per"
            + " partition, as of checkpoint %d: %s", r.checkpoint(), r)
            .allSatisfy((p, n) -> assertThat(n).isZero());
        if (r.total("in") == in) {
          return r;
        }
      }
      TimeUnit.MILLISECONDS.sleep(100); // poll interval, not synchronisation
    }
    throw new AssertionError("the reconciliation gauges of " + name + " did not reach " + in
        + " records read within 60 s; last consistent reading: " + r);
  }

  /** Polls (deadline 60 s) until {@code dir} holds {@code n} files. */
  static void awaitFiles(Path dir, int n) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline) {
      if (Files.isDirectory(dir)) {
        try (var files = Files.list(dir)) {
          if (files.count() >= n) {
            return;
          }
        }
      }
      TimeUnit.MILLISECONDS.sleep(100); // poll interval, not synchronisation
    }
    throw new AssertionError("fewer than " + n + " files in " + dir + " within 60 s");
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

  /** The key of the bad records: all in one partition, among the valid ones. */
  static final String BAD = "bad";

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

  /** {@code txs}, with {@link #BAD_PER_BATCH} bad records in the middle. */
  static void produceWithBad(ScoringConfig config, List<Transaction> txs) {
    var serializer = TestingJob.txSerializer();
    List<byte[]> keys = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    for (int i = 0; i < txs.size(); i++) {
      if (i == txs.size() / 2) {
        for (int b = 0; b < BAD_PER_BATCH; b++) {
          keys.add(BAD.getBytes(StandardCharsets.UTF_8));
          values.add(("not avro " + b).getBytes(StandardCharsets.UTF_8));
        }
      }
      keys.add(txs.get(i).getCardId().getBytes(StandardCharsets.UTF_8));
      values.add(serializer.serialize(txs.get(i)));
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
