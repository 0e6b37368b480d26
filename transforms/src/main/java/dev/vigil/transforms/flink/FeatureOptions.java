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
              "Per event-time feature stage: the longest an event waits (wall clock) for the"
                  + " watermark before it is read from what has arrived. The watermark stops when"
                  + " every input partition is idle (a quiet topic), and the last events would"
                  + " otherwise wait for the next one. An event read this way is counted in"
                  + " vigil.features.<entity>.forced; it is exact unless an older event of its key"
                  + " arrives after it (then that one is late, and counted).");
}
