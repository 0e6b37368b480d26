package dev.vigil.transforms;

/**
 * The stable uids of Vigil's stateful operators. A savepoint maps state to operators by uid, so
 * these are an API: jobs and {@code state-tools} use these constants, never string copies, and a
 * uid changes only with a deliberate version suffix when its state layout breaks.
 */
public final class OperatorUids {
  private OperatorUids() {}

  /** Default max parallelism: the number of key groups, fixed for the life of a savepoint. */
  public static final int DEFAULT_MAX_PARALLELISM = 128;

  public static final String SOURCE = "vigil-source-v1";
  public static final String DECODE = "vigil-decode-v1";
  public static final String SCORE = "vigil-score-v1";
  public static final String SINK_SCORES = "vigil-sink-scores-v1";
  public static final String SINK_FEATURES = "vigil-sink-features-v1";
  public static final String SINK_DEAD_LETTERS = "vigil-sink-dead-letters-v1";
  /** Counts dead letters per reason on their way to the sink (stateless). */
  public static final String DEAD_LETTER_METRICS = "vigil-dead-letter-metrics-v1";

  /**
   * Retired: the join of the fanned-out entity stages (the stages now chain). A savepoint that
   * has it restores with allowNonRestoredState (it held only events in flight at a barrier).
   */
  public static final String FEATURES_JOIN = "vigil-features-join-v2";

  /** {@code vigil run}: formats each event's output line (stateless). */
  public static final String RUN_LINES = "vigil-run-lines-v1";

  /** {@code vigil run}: the sorted JSON-lines file sink. */
  public static final String RUN_SINK = "vigil-run-sink-v1";

  /** {@code features backfill --parallelism}: the event files (FLIP-27 FileSource). */
  public static final String BACKFILL_SOURCE = "vigil-backfill-source-v1";

  /** {@code features backfill --parallelism}: each event's base part (id, keys; stateless). */
  public static final String BACKFILL_BASE = "vigil-backfill-base-v1";

  /** {@code features backfill --parallelism}: sorts the parts of each output range by time. */
  public static final String BACKFILL_SORT = "vigil-backfill-sort-v1";

  /** {@code features backfill --parallelism}: the part files (Sink V2). */
  public static final String BACKFILL_SINK = "vigil-backfill-sink-v1";

  /** {@code features backfill --parallelism}: drops the events without a key of {@code entity}. */
  public static String backfillKeyed(String entity) {
    return "vigil-backfill-keyed-" + entity + "-v1";
  }

  /** {@code features backfill --parallelism}: {@code entity}'s features, one key at a time. */
  public static String backfillEntity(String entity) {
    return "vigil-backfill-entity-" + entity + "-v1";
  }

  /** The feature stage of {@code entity}, e.g. {@code vigil-features-card-v1}. */
  public static String features(String entity) {
    return "vigil-features-" + entity + "-v1";
  }
}
