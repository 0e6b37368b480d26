package dev.vigil.models;

/** What a score means for the payment; the symbols of {@code dev.vigil.avro.Decision}. */
public enum Decision {
  APPROVE,
  REVIEW,
  DECLINE
}
