package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Score;
import dev.vigil.avro.Transaction;
import dev.vigil.models.ModelLoader;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transient faults of docs/scoring-job.md, "Faults", each on the real thing (a KRaft broker,
 * the Apicurio registry, the job on a MiniCluster with RocksDB, 4 input partitions keyed by card at
 * parallelism 2): 100 events scored and committed, the fault, 100 more events during or after it,
 * the fault cleared; then a read_committed consumer sees every input once on every exactly-once
 * sink, and the fault's metric moved.
 *
 * <p>Shared: the broker, the registry and the MiniCluster (each test has its own topics, job and
 * checkpoints). The restart strategy is Flink's default with checkpointing, exponential delay
 * without an attempt limit, with shorter delays: a fault must not use up a retry budget.
 */
class TransientFaultsITCase {
  @RegisterExtension
  static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
      new MiniClusterResourceConfiguration.Builder()
          .setConfiguration(TestingMetrics.addTo(new Configuration()))
          .setNumberTaskManagers(1)
          .setNumberSlotsPerTaskManager(2)
          .build());

  @TempDir Path dir;

  static final int BATCH = 100;
  static final Duration DEADLINE = Duration.ofSeconds(90);

  /** A running job of one test and its input. */
  record Run(String name, ScoringConfig config, JobClient job, List<Transaction> txs) {
    long metric(String metric) {
      return TestingMetrics.sum(name, metric);
    }

    long metric(String operator, String metric) {
      return TestingMetrics.sum(name, operator, metric);
    }
  }

  /**
   * Broker restart (a rolling restart, a crash and restart on one node): the clients reconnect;
   * the offset commits to the group on checkpoints fail meanwhile ({@code
   * KafkaSourceReader.commitsFailed}, for monitoring only: the offsets are in the checkpoint). The
   * scores sink is at-least-once and the feature-vector sink exactly-once in the same job, so one
   * restart checks both: exactly once on the features, at least once on the scores, and a
   * repeated score only with a replay (a job restart), identical to the first.
   */
  @Test
  void aBrokerRestartLosesNothingDoublesNothingExactlyOnceAndRepeatsAtLeastOnceOnlyOnAReplay()
      throws Exception {
    Map<String, String> keys = keys("fbr", model());
    keys.put("scores.delivery", "at_least_once");
    Run run = start("faults-broker-restart", keys, flink());
    try {
      produce(run, 0, BATCH);
      awaitCommitted(run.config().featuresTopic(), BATCH);
      awaitCommitted(run.config().scoresTopic(), BATCH);
      long commitsFailed = run.metric("commitsFailed");

      TestingKafka.broker().stop();
      try {
        // down for at least 3 s (checkpoints fall due in the gap) and until the job has seen it
        long minimum = System.nanoTime() + Duration.ofSeconds(3).toNanos();
        await("an offset commit failed while the broker was down",
            () -> System.nanoTime() > minimum && run.metric("commitsFailed") > commitsFailed);
      } finally {
        TestingKafka.broker().restart();
      }
      produce(run, BATCH, 2 * BATCH);
      awaitCommitted(run.config().featuresTopic(), 2 * BATCH);
      awaitCommitted(run.config().scoresTopic(), 2 * BATCH);
      long restarts = run.metric("numRestarts");

      assertExactlyOnce(run, run.config().featuresTopic());
      assertThat(TestingKafka.readCommitted(run.config().deadLettersTopic())).isEmpty();
      Map<String, List<Score>> scores = new TreeMap<>();
      for (var r : TestingKafka.readCommitted(run.config().scoresTopic())) {
        Score s = TestingJob.score(r);
        scores.computeIfAbsent(s.getTransactionId(), k -> new ArrayList<>()).add(s);
      }
      assertThat(scores.keySet()).as("every input scored at least once")
          .containsExactlyInAnyOrderElementsOf(ids(run));
      int repeats = 0;
      for (List<Score> copies : scores.values()) {
        repeats += copies.size() - 1;
        for (Score copy : copies) {
          assertThat(List.of(copy.getScore(), copy.getDecision(), copy.getModelVersion(),
                  copy.getFeatures()))
              .as("a repeat of %s is the same result", copy.getTransactionId())
              .isEqualTo(List.of(copies.get(0).getScore(), copies.get(0).getDecision(),
                  copies.get(0).getModelVersion(), copies.get(0).getFeatures()));
        }
      }
      System.out.printf("broker restart: %d repeated scores (at-least-once), %d job restarts%n",
          repeats, restarts);
      if (repeats > 0) {
        assertThat(restarts).as("repeated scores come from a replay after a job restart only"
            + " (the producers are idempotent)").isPositive();
      }
    } finally {
      cancel(run);
    }
  }

  /**
   * A sink topic refusing writes for a while: an ACL denying the job's principal WRITE on the
   * scores topic (a revoked permission, a bad ACL change), a non-retriable
   * TOPIC_AUTHORIZATION_FAILED. (Kafka 4's effective min.insync.replicas is capped at the
   * replication factor, so a single broker cannot make one topic refuse writes as "not enough
   * replicas", the retriable kind; a broker that is away is the broker-restart test.) The write
   * fails the job, which restarts from its last checkpoint (restart strategy, backing off) and
   * fails again as long as the writes are refused, committing nothing; once they are allowed, the
   * restart that follows replays and commits everything once.
   */
  @Test
  void aScoresTopicRefusingWritesRestartsTheJobUntilItTakesThemAgainAndLosesNothing()
      throws Exception {
    Run run = start("faults-sink-refused", keys("fsr", model()), flink());
    try {
      produce(run, 0, BATCH);
      awaitCommitted(run.config().scoresTopic(), BATCH);
      long restarts = run.metric("numRestarts");

      // With an ACL on the topic, what no ACL allows is denied: allow all, deny the write.
      var topic = new ResourcePattern(ResourceType.TOPIC, run.config().scoresTopic(),
          PatternType.LITERAL);
      List<AclBinding> acls = List.of(
          new AclBinding(topic, new AccessControlEntry("User:*", "*", AclOperation.ALL,
              AclPermissionType.ALLOW)),
          new AclBinding(topic, new AccessControlEntry("User:ANONYMOUS", "*", AclOperation.WRITE,
              AclPermissionType.DENY)));
      try (var admin = TestingKafka.broker().admin()) {
        admin.createAcls(acls).all().get(30, TimeUnit.SECONDS);
      }
      try {
        produce(run, BATCH, 2 * BATCH);
        await("the job restarted twice on the refused writes",
            () -> run.metric("numRestarts") >= restarts + 2);
        assertThat(committedIds(run.config().scoresTopic())).as("nothing committed meanwhile")
            .hasSize(BATCH);
      } finally {
        try (var admin = TestingKafka.broker().admin()) {
          admin.deleteAcls(acls.stream().map(AclBinding::toFilter).toList()).all()
              .get(30, TimeUnit.SECONDS);
        }
      }
      awaitCommitted(run.config().scoresTopic(), 2 * BATCH);
      awaitCommitted(run.config().featuresTopic(), 2 * BATCH);
    } finally {
      cancel(run);
    }
    assertExactlyOnce(run, run.config().scoresTopic());
    assertExactlyOnce(run, run.config().featuresTopic());
    assertThat(TestingKafka.readCommitted(run.config().deadLettersTopic())).isEmpty();
  }

  /**
   * A model file that fails to load on a hot swap (ModelRefusalTest has the operator; this is the
   * job on Kafka): each subtask refuses it ({@code vigil.model_refusals}), the old model scores on,
   * nothing lost, nothing doubled.
   */
  @Test
  void aModelFileThatFailsToLoadIsRefusedAndTheOldModelScoresOnWithNothingLost()
      throws Exception {
    Path models = Files.createDirectories(dir.resolve("models"));
    Path first = TestModels.write(models.resolve("model-1.json"),
        TestingJob.spec().spec().modelInputs(), -1.0, 1.0);
    String v1 = ModelLoader.version("test-model", Files.readAllBytes(first));
    Run run = start("faults-model-refused", keys("fmr", models), flink());
    try {
      produce(run, 0, BATCH);
      awaitCommitted(run.config().scoresTopic(), BATCH);

      // a truncated file, newer than the model, moved into place as a deployment would
      Path staged = Files.writeString(dir.resolve("model-2.json.tmp"), "{\"learner\": {\"trunc",
          StandardCharsets.UTF_8);
      Files.setLastModifiedTime(staged, FileTime.from(Instant.now().plusSeconds(5)));
      Files.move(staged, models.resolve("model-2.json"), StandardCopyOption.ATOMIC_MOVE);
      await("both subtasks refused the file", () -> run.metric("model_refusals") >= 2);

      produce(run, BATCH, 2 * BATCH);
      awaitCommitted(run.config().scoresTopic(), 2 * BATCH);
      assertThat(run.metric("model_swaps")).isZero();
      assertThat(run.metric("numRestarts")).as("job restarts").isZero();
    } finally {
      cancel(run);
    }
    assertExactlyOnce(run, run.config().scoresTopic());
    for (var r : TestingKafka.readCommitted(run.config().scoresTopic())) {
      assertThat(TestingJob.score(r).getModelVersion()).as("the old model").isEqualTo(v1);
    }
  }

  /**
   * A checkpoint storage refusing writes ({@link TestingCheckpointStorage}; every state file and
   * the metadata): the checkpoints fail ({@code numberOfFailedCheckpoints}), the job does not
   * (within {@code checkpoint.tolerable-failures}; Flink's own default, 0, restarts it at the
   * first); the exactly-once results wait, uncommitted, and are committed once by the first
   * checkpoint after the storage is back. The test tolerates 20: on a loaded machine checkpoint
   * requests queue up behind a slow one and then fail within a second of each other.
   */
  @Test
  void aCheckpointStorageRefusingWritesFailsCheckpointsNotTheJobAndCommitsOnceItIsBack()
      throws Exception {
    Configuration flink = flink();
    flink.setString("execution.checkpointing.dir",
        TestingCheckpointStorage.uri(dir.resolve("checkpoints")));
    // every piece of state in a file of its own, none inline in the metadata: as with real state
    flink.setString("execution.checkpointing.data-inline-threshold", "0 b");
    Map<String, String> keys = keys("fcs", model());
    keys.put("checkpoint.tolerable-failures", "20");
    // the storage refuses at once, so attempts fail fast; the bound allows for each hanging for
    // checkpoint.timeout: 21 x 2s stays under the 1m transaction timeout
    keys.put("checkpoint.timeout", "2s");
    Run run = start("faults-checkpoint-storage", keys, flink);
    try {
      produce(run, 0, BATCH);
      awaitCommitted(run.config().scoresTopic(), BATCH);
      long failed = run.metric("numberOfFailedCheckpoints");
      long completed = run.metric("numberOfCompletedCheckpoints");
      long refused = TestingCheckpointStorage.refused();

      TestingCheckpointStorage.refuseWrites(true);
      try {
        produce(run, BATCH, 2 * BATCH);
        await("3 checkpoints failed",
            () -> run.metric("numberOfFailedCheckpoints") >= failed + 3);
        assertThat(committedIds(run.config().scoresTopic())).as("nothing committed meanwhile")
            .hasSize(BATCH);
      } finally {
        TestingCheckpointStorage.refuseWrites(false);
      }
      assertThat(TestingCheckpointStorage.refused()).as("writes refused").isGreaterThan(refused);
      awaitCommitted(run.config().scoresTopic(), 2 * BATCH);
      awaitCommitted(run.config().featuresTopic(), 2 * BATCH);
      assertThat(run.metric("numberOfCompletedCheckpoints")).isGreaterThan(completed);
      assertThat(run.metric("numRestarts")).as("job restarts").isZero();
    } finally {
      cancel(run);
    }
    assertExactlyOnce(run, run.config().scoresTopic());
    assertExactlyOnce(run, run.config().featuresTopic());
  }

  /**
   * Cancels the job and waits until it has ended, so that no checkpoint is still being written
   * or discarded in the test's directory when it is deleted.
   */
  private static void cancel(Run run) throws Exception {
    run.job().cancel().get(1, TimeUnit.MINUTES);
    await("the job ended", () -> {
      try {
        return run.job().getJobStatus().get(10, TimeUnit.SECONDS).isGloballyTerminalState();
      } catch (Exception e) {
        return true; // gone from the cluster: ended
      }
    });
  }

  private Run start(String name, Map<String, String> keys, Configuration flink) throws Exception {
    ScoringConfig config = ScoringConfig.of(keys);
    CompiledSpec spec = TestingJob.spec();
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
    ScoringJob.defineWorkflow(env, config, spec, ScoringJob.source(env, config, null),
        Sinks.kafka(config));
    JobClient job = env.executeAsync(name);
    return new Run(name, config, job, ExactlyOnceITCase.events(2 * BATCH, 6, 3, 20_000));
  }

  private Path model() throws Exception {
    return TestModels.write(dir.resolve("model.json"), TestingJob.spec().spec().modelInputs(),
        -1.0, 1.0);
  }

  private static Map<String, String> keys(String topics, Path model) {
    return TestingJob.config(topics, model, 4);
  }

  /** RocksDB, checkpoints under the test's directory, restarts without an attempt limit. */
  private Configuration flink() {
    Configuration c = TestingJob.flink(dir);
    c.setString("restart-strategy.type", "exponential-delay");
    c.setString("restart-strategy.exponential-delay.initial-backoff", "200 ms");
    c.setString("restart-strategy.exponential-delay.max-backoff", "2 s");
    return c;
  }

  private static void produce(Run run, int from, int to) {
    ExactlyOnceITCase.produce(run.config(), run.txs().subList(from, to));
  }

  /** Polls until {@code n} distinct transaction ids are committed on {@code topic}. */
  static void awaitCommitted(String topic, int n) throws InterruptedException {
    await(n + " distinct ids committed on " + topic, () -> committedIds(topic).size() >= n);
  }

  /** Polls {@code condition} every 100 ms until {@link #DEADLINE}. */
  static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(what + ": not within " + DEADLINE.toSeconds() + " s");
      }
      TimeUnit.MILLISECONDS.sleep(100); // poll interval, not synchronisation
    }
  }

  /** Every input once on {@code topic} (read_committed), nothing else. */
  private static void assertExactlyOnce(Run run, String topic) {
    List<String> ids = new ArrayList<>();
    for (var r : TestingKafka.readCommitted(topic)) {
      ids.add(new String(r.key(), StandardCharsets.UTF_8));
    }
    assertThat(ids).as("ids on %s", topic).hasSize(run.txs().size()).doesNotHaveDuplicates()
        .containsExactlyInAnyOrderElementsOf(ids(run));
  }

  private static List<String> ids(Run run) {
    return run.txs().stream().map(Transaction::getTransactionId).toList();
  }

  /** The distinct transaction ids committed on {@code topic} now. */
  static Set<String> committedIds(String topic) {
    Set<String> ids = new HashSet<>();
    for (var r : TestingKafka.readCommitted(topic)) {
      ids.add(new String(r.key(), StandardCharsets.UTF_8));
    }
    return ids;
  }
}
