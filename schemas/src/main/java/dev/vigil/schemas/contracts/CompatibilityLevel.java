package dev.vigil.schemas.contracts;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Confluent Schema Registry's compatibility levels, with its semantics: BACKWARD means the new
 * schema reads data written with the previous one, FORWARD that the previous one reads data
 * written with the new one, FULL both; a transitive level checks against every previous version,
 * a plain one against the latest previous version only.
 */
public enum CompatibilityLevel {
  NONE(false, false, false),
  BACKWARD(true, false, false),
  BACKWARD_TRANSITIVE(true, false, true),
  FORWARD(false, true, false),
  FORWARD_TRANSITIVE(false, true, true),
  FULL(true, true, false),
  FULL_TRANSITIVE(true, true, true);

  private final boolean backward;
  private final boolean forward;
  private final boolean transitive;

  CompatibilityLevel(boolean backward, boolean forward, boolean transitive) {
    this.backward = backward;
    this.forward = forward;
    this.transitive = transitive;
  }

  /** The new schema must read data written with the previous ones. */
  public boolean backward() {
    return backward;
  }

  /** The previous schemas must read data written with the new one. */
  public boolean forward() {
    return forward;
  }

  /** Checked against every previous version, not only the latest. */
  public boolean transitive() {
    return transitive;
  }

  /** Parses a level case-insensitively ({@code backward-transitive} too). */
  public static CompatibilityLevel parse(String text) {
    String normalized = text.strip().toUpperCase(Locale.ROOT).replace('-', '_');
    try {
      return valueOf(normalized);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "'" + text + "' is not a compatibility level; use one of " + allowed());
    }
  }

  public static String allowed() {
    return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "));
  }
}
