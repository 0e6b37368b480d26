package dev.vigil.statetools;

import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.Durations;
import dev.vigil.transforms.spec.SpecException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;

/** Argument parsing shared by the {@code state} commands; every failure names the bad value. */
final class CommandSupport {
  private CommandSupport() {}

  /** Flink's upper bound for max parallelism. */
  static final int MAX_KEY_GROUPS = 1 << 15;

  static long cutover(String text) throws StateToolException {
    try {
      return Instant.parse(text).toEpochMilli();
    } catch (DateTimeParseException e) {
      try {
        return Long.parseLong(text);
      } catch (NumberFormatException n) {
        throw new StateToolException("--cutover '" + text + "': not an ISO-8601 UTC time (e.g."
            + " 2026-03-01T00:00:00Z) or epoch millis");
      }
    }
  }

  /** {@code 0} or {@code none}: no dedupe state. */
  static long horizon(String text) throws StateToolException {
    if (text.equals("0") || text.equalsIgnoreCase("none")) {
      return 0;
    }
    try {
      return Durations.parseMillis(text);
    } catch (IllegalArgumentException e) {
      throw new StateToolException("--dedupe-horizon: " + e.getMessage() + ", or 0 for none");
    }
  }

  static CompiledSpec spec(Path file) throws StateToolException {
    try {
      return CompiledSpec.load(file);
    } catch (SpecException e) {
      throw new StateToolException(e.getMessage(), e);
    }
  }

  static void parallelism(int parallelism, int maxParallelism) throws StateToolException {
    if (parallelism < 1 || maxParallelism < parallelism || maxParallelism > MAX_KEY_GROUPS) {
      throw new StateToolException("--parallelism " + parallelism + " --max-parallelism "
          + maxParallelism + ": need 1 ≤ parallelism ≤ max parallelism ≤ " + MAX_KEY_GROUPS);
    }
  }
}
