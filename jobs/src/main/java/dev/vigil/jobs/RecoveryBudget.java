package dev.vigil.jobs;

import dev.vigil.transforms.spec.Durations;
import java.io.Serializable;
import java.time.Duration;

/**
 * How long a recovery may take before the exactly-once results of the restored checkpoint are at
 * risk, and the verdict on one that happened. The downtime is measured from the wall-clock time of
 * the restored checkpoint's snapshot to the restored job's first moment: the transactions that
 * checkpoint pre-committed were opened one interval before it, so they are {@code downtime +
 * interval} old when the restored job commits them, and the broker aborts them at {@code
 * transaction.timeout} (their results lost to read_committed consumers). Plain Java, no Flink.
 *
 * @param exactlyOnce whether any sink writes in transactions (otherwise nothing is at risk)
 */
public record RecoveryBudget(Duration budget, Duration transactionTimeout,
    Duration checkpointInterval, boolean exactlyOnce) implements Serializable {

  /** What a recovery's downtime means: a log level and the sentence to log. */
  public record Verdict(Level level, String message) {}

  public enum Level { INFO, WARN, ERROR }

  static RecoveryBudget of(ScoringConfig config) {
    return new RecoveryBudget(config.recoveryBudget(), config.transactionTimeout(),
        config.checkpointInterval(), config.exactlyOnce());
  }

  /** The verdict on a recovery that took {@code downtimeMillis}. */
  public Verdict assess(long downtimeMillis) {
    String took = "the job was restored " + Durations.format(downtimeMillis)
        + " after the checkpoint it restored";
    if (!exactlyOnce) {
      return new Verdict(Level.INFO, took + " (at_least_once: the records since are scored"
          + " again)");
    }
    long age = downtimeMillis + checkpointInterval.toMillis();
    if (age >= transactionTimeout.toMillis()) {
      return new Verdict(Level.ERROR, took + ": its transactions, about " + Durations.format(age)
          + " old, outlived transaction.timeout " + Durations.format(transactionTimeout.toMillis())
          + "; any of them not committed before the failure has been aborted by the broker, and"
          + " its results are lost to read_committed consumers (the records before that"
          + " checkpoint are not replayed; the sink logs each commit that failed). Reconcile the"
          + " outputs against the input for that period, and raise transaction.timeout or"
          + " shorten recoveries");
    }
    if (downtimeMillis > budget.toMillis()) {
      return new Verdict(Level.ERROR, took + ", over recovery.budget "
          + Durations.format(budget.toMillis()) + "; its transactions were still within"
          + " transaction.timeout " + Durations.format(transactionTimeout.toMillis())
          + ", nothing is lost yet, but a longer recovery would lose results: find what made it"
          + " slow, or raise both");
    }
    if (downtimeMillis > budget.toMillis() / 2) {
      return new Verdict(Level.WARN, took + ", past half of recovery.budget "
          + Durations.format(budget.toMillis()));
    }
    return new Verdict(Level.INFO, took + ", within recovery.budget "
        + Durations.format(budget.toMillis()));
  }
}
