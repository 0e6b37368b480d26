package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * Safe restores on a MiniCluster with RocksDB and a real broker: a start without state is refused
 * unless allowed, and a job savepoint restored under a spec whose card window changed is refused
 * with what changed; neither restarts (the refusal is final). Four input partitions, parallelism 2.
 */
class RestoreRefusalITCase {
  @RegisterExtension static final MiniClusterExtension CLUSTER = TestingJob.cluster();
  @TempDir Path dir;

  @Test
  void aColdStartIsRefusedUnlessAllowedAndARestoreUnderAChangedSpecIsRefusedSayingWhat()
      throws Exception {
    CompiledSpec spec = TestingJob.spec();
    Path model = TestModels.write(dir.resolve("model.json"), spec.spec().modelInputs(), -1.0, 1.0);
    Map<String, String> keys = TestingJob.config("rr", model, 4);
    keys.put("state.empty-start", "refuse");
    ScoringConfig refusing = ScoringConfig.of(keys);
    TestingJob.produceTransactions(refusing, "r", 0, 40);

    Throwable cold = failure(TestingJob.start(refusing, spec, TestingJob.flink(dir.resolve("a")), "cold"));
    assertThat(cold).hasMessageMatching("(?s)feature stage '(card|merchant)': the job starts"
            + " without state.*")
        .hasMessageContaining("state.empty-start=allow");

    ScoringConfig allowed = refusing.with("state.empty-start", "allow");
    JobClient job = TestingJob.start(allowed, spec, TestingJob.flink(dir.resolve("b")), "first");
    ExactlyOnceITCase.awaitCommittedScores(allowed, 40);
    String savepoint = job.stopWithSavepoint(false, dir.resolve("sp").toUri().toString(),
        SavepointFormatType.CANONICAL).get(1, TimeUnit.MINUTES);

    Path changedFile = dir.resolve("changed.yaml");
    Files.writeString(changedFile, Files.readString(TestingJob.specFile()).replace(
        "{name: card_amount_sum_1h,    entity: card,     aggregation: sum,   field: amount_cents, window: 1h}",
        "{name: card_amount_sum_1h,    entity: card,     aggregation: sum,   field: amount_cents, window: 2h}"));
    CompiledSpec changed = CompiledSpec.load(changedFile);
    assertThat(changed.spec().fingerprint()).isNotEqualTo(spec.spec().fingerprint());
    Configuration restore = TestingJob.flink(dir.resolve("c"));
    restore.setString("execution.state-recovery.path", savepoint);
    Throwable refused = failure(TestingJob.start(refusing.with("spec", changedFile.toString()), changed, restore,
        "changed spec"));
    assertThat(refused)
        .hasMessageContaining("feature stage 'card': the state being restored was written under"
            + " another spec")
        .hasMessageContaining("changed: card_amount_sum_1h: sum(amount_cents) window 1h")
        .hasMessageContaining("-> sum(amount_cents) window 2h")
        .hasMessageContaining("`vigil state bootstrap`");

    // The same spec restores (and a restore is never a cold start, refused or not).
    Configuration same = TestingJob.flink(dir.resolve("d"));
    same.setString("execution.state-recovery.path", savepoint);
    job = TestingJob.start(refusing, spec, same, "same spec");
    TestingJob.produceTransactions(refusing, "r", 40, 10);
    ExactlyOnceITCase.awaitCommittedScores(refusing, 50);
    job.cancel().get(1, TimeUnit.MINUTES);
  }

  /**
   * The refusal that failed {@code job}: it must fail within a minute, for good (Flink's "not
   * recoverable", not the test cluster's ten restarts used up).
   */
  private static Throwable failure(JobClient job) {
    Throwable[] cause = new Throwable[1];
    assertThatThrownBy(() -> job.getJobExecutionResult().get(1, TimeUnit.MINUTES))
        .satisfies(t -> cause[0] = t);
    assertThat(ExceptionUtils.findThrowableWithMessage(cause[0], "The failure is not recoverable"))
        .as("failed without a restart: %s", ExceptionUtils.stringifyException(cause[0]))
        .isPresent();
    return ExceptionUtils.findThrowable(cause[0], IllegalStateException.class)
        .map(Throwable.class::cast).orElse(cause[0]);
  }
}
