package dev.vigil.models;

/**
 * Score thresholds: below {@code review} approve, from {@code review} review, from {@code decline}
 * decline. A score that is not a probability (NaN, infinite, outside [0, 1]) is never approved: it
 * is REVIEW (the scoring job dead-letters it as {@code model_error} before it gets here, unless
 * told to review it).
 */
public record Thresholds(double review, double decline) implements java.io.Serializable {
  public Thresholds {
    if (!(0 <= review && review <= decline && decline <= 1)) {
      throw new IllegalArgumentException("thresholds must satisfy 0 <= review (" + review
          + ") <= decline (" + decline + ") <= 1");
    }
  }

  public Decision decide(double score) {
    if (!isProbability(score)) {
      return Decision.REVIEW; // fail closed: NaN compares false with everything
    }
    return score >= decline ? Decision.DECLINE : score >= review ? Decision.REVIEW : Decision.APPROVE;
  }

  /** True for a finite score in [0, 1]. */
  public static boolean isProbability(double score) {
    return score >= 0 && score <= 1;
  }
}
