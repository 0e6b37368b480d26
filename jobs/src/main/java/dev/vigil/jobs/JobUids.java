package dev.vigil.jobs;

/**
 * Uids of the scoring job's operators that {@link dev.vigil.transforms.OperatorUids} does not have
 * yet (to move there: state-tools must never copy uid strings). All are stateless.
 */
public final class JobUids {
  private JobUids() {}

  /** Counts dead letters per reason in front of the dead-letter sink (stateless). */
  public static final String DEAD_LETTER_METRICS = "vigil-dead-letter-metrics-v1";
}
