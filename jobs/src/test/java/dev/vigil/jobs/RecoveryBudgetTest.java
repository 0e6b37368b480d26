package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class RecoveryBudgetTest {
  static final RecoveryBudget BUDGET = new RecoveryBudget(Duration.ofMinutes(5),
      Duration.ofMinutes(10), Duration.ofSeconds(10), true);

  @Test
  void aQuickRecoveryIsInfoAndPastHalfTheBudgetIsAWarning() {
    assertThat(BUDGET.assess(20_000)).extracting(RecoveryBudget.Verdict::level, RecoveryBudget.Verdict::message)
        .containsExactly(RecoveryBudget.Level.INFO,
            "the job was restored 20s after the checkpoint it restored, within recovery.budget 5m");
    assertThat(BUDGET.assess(150_001).level()).isEqualTo(RecoveryBudget.Level.WARN);
    assertThat(BUDGET.assess(150_000).level()).isEqualTo(RecoveryBudget.Level.INFO);
  }

  @Test
  void overTheBudgetIsAnErrorAndPastTheTransactionTimeoutItSaysResultsAreLost() {
    RecoveryBudget.Verdict over = BUDGET.assess(Duration.ofMinutes(6).toMillis());
    assertThat(over.level()).isEqualTo(RecoveryBudget.Level.ERROR);
    assertThat(over.message()).contains("over recovery.budget 5m", "nothing is lost yet");
    // 9m50s down + the 10s the transactions were open before the checkpoint = the timeout
    RecoveryBudget.Verdict lost = BUDGET.assess(Duration.ofSeconds(590).toMillis());
    assertThat(lost.level()).isEqualTo(RecoveryBudget.Level.ERROR);
    assertThat(lost.message()).contains("outlived transaction.timeout 10m",
        "has been aborted by the broker", "lost to read_committed consumers");
    assertThat(BUDGET.assess(Duration.ofSeconds(589).toMillis()).message())
        .doesNotContain("lost to");
  }

  @Test
  void atLeastOnceHasNoTransactionsToLose() {
    RecoveryBudget alo = new RecoveryBudget(Duration.ofMinutes(5), Duration.ofMinutes(10),
        Duration.ofSeconds(10), false);
    assertThat(alo.assess(Duration.ofHours(2).toMillis()).level()).isEqualTo(RecoveryBudget.Level.INFO);
  }
}
