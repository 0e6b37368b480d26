package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Score;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Stop with a savepoint after the first half, restart from it on the rest: the same scores and
 * feature vectors as one uninterrupted run, each transaction once. Two input partitions (one
 * source split per subtask), each card and its merchant in one partition, so per-key order, and
 * with it every value, is the same in both runs.
 */
class SavepointRoundTripITCase {
  @RegisterExtension static final MiniClusterExtension CLUSTER = TestingJob.cluster();
  @TempDir Path dir;

  static final int EVENTS = 200;

  @Test
  void stopWithSavepointAndRestoreGivesTheSameResultsAsOneUninterruptedRun() throws Exception {
    CompiledSpec spec = TestingJob.spec();
    Path model = TestModels.write(dir.resolve("model.json"), spec.spec().modelInputs(), -1.0, 1.0);
    List<Transaction> txs = new ArrayList<>();
    List<Integer> partitions = new ArrayList<>();
    long base = System.currentTimeMillis() / 60_000 * 60_000 - 3 * 86_400_000L;
    for (int i = 0; i < EVENTS; i++) {
      int card = (i * 7) % 6;
      txs.add(TestingJob.tx(String.format("s%04d", i), "c" + card, "m-c" + card, 100 + i * 13 % 997,
          base + i * 30_000L));
      partitions.add(card % 2);
    }

    // One run over everything.
    ScoringConfig whole = ScoringConfig.of(TestingJob.config("spa", model, 2));
    produce(whole, txs, partitions);
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(TestingJob.flink(dir.resolve("a")));
    ScoringJob.defineWorkflow(env, whole, spec,
        ScoringJob.source(env, whole, OffsetsInitializer.latest()), Sinks.kafka(whole));
    env.execute("uninterrupted");

    // The same input in two runs, a savepoint between them.
    ScoringConfig split = ScoringConfig.of(TestingJob.config("spb", model, 2));
    produce(split, txs.subList(0, EVENTS / 2), partitions.subList(0, EVENTS / 2));
    Configuration first = TestingJob.flink(dir.resolve("b"));
    env = StreamExecutionEnvironment.getExecutionEnvironment(first);
    ScoringJob.defineWorkflow(env, split, spec, ScoringJob.source(env, split, null),
        Sinks.kafka(split));
    JobClient job = env.executeAsync("first half");
    ExactlyOnceITCase.awaitCommittedScores(split, EVENTS / 2);
    String savepoint = job.stopWithSavepoint(false, dir.resolve("savepoint").toUri().toString(),
        SavepointFormatType.CANONICAL).get(1, TimeUnit.MINUTES);

    produce(split, txs.subList(EVENTS / 2, EVENTS), partitions.subList(EVENTS / 2, EVENTS));
    Configuration second = TestingJob.flink(dir.resolve("c"));
    second.setString("execution.state-recovery.path", savepoint);
    env = StreamExecutionEnvironment.getExecutionEnvironment(second);
    ScoringJob.defineWorkflow(env, split, spec, ScoringJob.source(env, split, null),
        Sinks.kafka(split));
    // Unbounded like a real deployment: it runs until every input has a committed score, then
    // stops with a savepoint too (what stays uncommitted is aborted, never seen read_committed).
    job = env.executeAsync("second half, from the savepoint");
    ExactlyOnceITCase.awaitCommittedScores(split, EVENTS);
    job.stopWithSavepoint(false, dir.resolve("savepoint-2").toUri().toString(),
        SavepointFormatType.CANONICAL).get(1, TimeUnit.MINUTES);

    Map<String, Score> expectedScores = scores(whole);
    Map<String, Score> actualScores = scores(split);
    assertThat(expectedScores).hasSize(EVENTS);
    assertThat(actualScores).hasSize(EVENTS);
    for (String id : expectedScores.keySet()) {
      Score want = expectedScores.get(id);
      Score got = actualScores.get(id);
      assertThat(got.getFeatures()).as("features of %s", id).isEqualTo(want.getFeatures());
      assertThat(got.getScore()).isEqualTo(want.getScore());
      assertThat(got.getDecision()).isEqualTo(want.getDecision());
      assertThat(got.getModelVersion()).isEqualTo(want.getModelVersion());
    }
    assertThat(vectors(split)).isEqualTo(vectors(whole));
  }

  private static void produce(ScoringConfig config, List<Transaction> txs, List<Integer> partitions) {
    var serializer = TestingJob.txSerializer();
    List<byte[]> keys = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    for (Transaction t : txs) {
      keys.add(t.getCardId().getBytes(StandardCharsets.UTF_8));
      values.add(serializer.serialize(t));
    }
    TestingKafka.produce(config.inputTopic(), partitions, keys, values);
  }

  /** Scores by transaction id; fails on a second score for one id. */
  private static Map<String, Score> scores(ScoringConfig config) throws Exception {
    Map<String, Score> m = new HashMap<>();
    for (var r : TestingKafka.readCommitted(config.scoresTopic())) {
      Score s = TestingJob.score(r);
      assertThat(m.put(s.getTransactionId(), s)).as("one score for %s", s.getTransactionId())
          .isNull();
    }
    return m;
  }

  private static Map<String, Map<String, Object>> vectors(ScoringConfig config) throws Exception {
    Map<String, Map<String, Object>> m = new HashMap<>();
    for (var r : TestingKafka.readCommitted(config.featuresTopic())) {
      FeatureVector v = TestingJob.features(r);
      assertThat(m.put(v.getTransactionId(), v.getFeatures())).isNull();
    }
    return m;
  }
}
