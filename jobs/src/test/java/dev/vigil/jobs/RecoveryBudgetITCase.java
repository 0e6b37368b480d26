package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A job with a 20 s transaction timeout is killed (cancelled, its last checkpoint kept) and kept
 * down for longer than the timeout while records keep arriving; restored from that checkpoint it
 * loses nothing and doubles nothing, and it says, as an ERROR, that the recovery outlived the
 * transaction timeout: never silent. Two input partitions, parallelism 2, RocksDB, a real broker.
 */
class RecoveryBudgetITCase {
  @RegisterExtension static final MiniClusterExtension CLUSTER = TestingJob.cluster();
  @TempDir Path dir;

  @Test
  void aRecoveryLongerThanTheTransactionTimeoutLosesNothingHereAndIsLoggedAsAnError()
      throws Exception {
    CompiledSpec spec = TestingJob.spec();
    Path model = TestModels.write(dir.resolve("model.json"), spec.spec().modelInputs(), -1.0, 1.0);
    Map<String, String> keys = TestingJob.config("rb", model, 2);
    keys.put("transaction.timeout", "20s");
    keys.put("checkpoint.timeout", "5s");
    keys.put("recovery.budget", "8s"); // 5s + 500ms + 8s < 20s: accepted
    keys.put("checkpoint.tolerable-failures", "2"); // 3 x 5s < 20s
    ScoringConfig config = ScoringConfig.of(keys);
    TestingJob.produceTransactions(config, "b", 0, 30);

    Configuration flink = TestingJob.flink(dir);
    flink.setString("execution.checkpointing.externalized-checkpoint-retention",
        "RETAIN_ON_CANCELLATION");
    JobClient job = TestingJob.start(config, spec, flink, "recovery budget");
    ExactlyOnceITCase.awaitCommittedScores(config, 30);
    TimeUnit.SECONDS.sleep(2); // a few more checkpoints, all committed
    job.cancel().get(1, TimeUnit.MINUTES);
    long down = System.nanoTime();
    TestingJob.produceTransactions(config, "b", 30, 30); // while the job is down
    Path checkpoint = latestCheckpoint(dir.resolve("checkpoints"));
    TimeUnit.NANOSECONDS.sleep(Math.max(0, 22_000_000_000L - (System.nanoTime() - down)));

    Configuration restore = TestingJob.flink(dir.resolve("restored"));
    restore.setString("execution.state-recovery.path", checkpoint.toUri().toString());
    try (CapturedLogs logs = CapturedLogs.capture()) {
      job = TestingJob.start(config, spec, restore, "recovery budget, restored");
      ExactlyOnceITCase.awaitCommittedScores(config, 60);
      job.cancel().get(1, TimeUnit.MINUTES);
      assertThat(logs.text()).contains("recovery: the job was restored")
          .contains("outlived transaction.timeout 20s")
          .contains("has been aborted by the broker");
    }
    List<String> ids = new ArrayList<>();
    for (var r : TestingKafka.readCommitted(config.scoresTopic())) {
      ids.add(TestingJob.score(r).getTransactionId());
    }
    assertThat(ids).hasSize(60).doesNotHaveDuplicates();
  }

  static Path latestCheckpoint(Path root) throws Exception {
    try (Stream<Path> all = Files.walk(root, 2)) {
      return all.filter(p -> p.getFileName().toString().startsWith("chk-"))
          .filter(p -> Files.exists(p.resolve("_metadata")))
          .max(Comparator.comparingLong(
              p -> Long.parseLong(p.getFileName().toString().substring(4))))
          .orElseThrow(() -> new AssertionError("no retained checkpoint under " + root));
    }
  }
}
