package dev.vigil.models;

/**
 * Score thresholds: below {@code review} approve, from {@code review} review, from {@code decline}
 * decline.
 */
public record Thresholds(double review, double decline) implements java.io.Serializable {
  public Thresholds {
    if (!(0 <= review && review <= decline && decline <= 1)) {
      throw new IllegalArgumentException("thresholds must satisfy 0 <= review (" + review
          + ") <= decline (" + decline + ") <= 1");
    }
  }

  public Decision decide(double score) {
    return score >= decline ? Decision.DECLINE : score >= review ? Decision.REVIEW : Decision.APPROVE;
  }
}
