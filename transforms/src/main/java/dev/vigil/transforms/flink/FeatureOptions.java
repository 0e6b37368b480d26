package dev.vigil.transforms.flink;

import java.time.Duration;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

/** The feature stages' knobs, read from the job's configuration when the pipeline is built. */
public final class FeatureOptions {
  private FeatureOptions() {}

  public static final ConfigOption<Integer> CACHE_KEYS =
      ConfigOptions.key("vigil.features.cache-keys")
          .intType()
          .defaultValue(10_000)
          .withDescription(
              "Per feature-stage subtask: how many keys' feature state values are kept on the heap"
                  + " in front of the state backend (second-chance eviction, close to least"
                  + " recently used). A hit costs no state access; changed values are written to"
                  + " the state backend when they leave the cache and at every checkpoint barrier,"
                  + " after which the cache is emptied. Memory: about this many times the state"
                  + " bytes per key (see 'vigil features explain'). 0 reads and writes the state"
                  + " backend on every event.");

  public static final ConfigOption<Duration> MAX_WAIT =
      ConfigOptions.key("vigil.features.max-wait")
          .durationType()
          .defaultValue(Duration.ofSeconds(5))
          .withDescription(
              "Per event-time feature stage: once its input has been silent this long (wall"
                  + " clock: no record and no watermark move, as when every input partition is"
                  + " idle and the watermark stops), the events that have waited this long for the"
                  + " watermark are read from what has arrived; otherwise the last events of a"
                  + " quiet topic would wait for the next one. Counted in"
                  + " vigil.features.<entity>.forced; exact unless an older event of its key"
                  + " arrives after it (then that one is late, and counted).");

  public static final ConfigOption<Boolean> EMPTY_START_REFUSED =
      ConfigOptions.key("vigil.features.empty-start-refused")
          .booleanType()
          .defaultValue(false)
          .withDescription(
              "Whether a feature stage that starts without restored state (no savepoint or"
                  + " checkpoint) fails the job, for good. The scoring job sets it unless its key"
                  + " state.empty-start is allow: a cold start scores every event with features"
                  + " that lack its entity's history. Backfills start empty by design.");
}
