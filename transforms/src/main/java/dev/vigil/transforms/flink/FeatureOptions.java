package dev.vigil.transforms.flink;

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
}
