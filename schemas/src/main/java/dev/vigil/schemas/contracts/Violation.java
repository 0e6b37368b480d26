package dev.vigil.schemas.contracts;

import java.util.List;

/**
 * One way a schema change breaks a reader.
 *
 * @param rule Avro's incompatibility type (e.g. {@code READER_FIELD_MISSING_DEFAULT_VALUE}) or a
 *     consumer rule ({@code CONSUMER_FIELD_REMOVED}, {@code CONSUMER_FIELD_RENAMED}, {@code
 *     CONSUMER_FIELD_RETYPED})
 * @param against the previous version compared with (e.g. {@code v2} or a file name)
 * @param direction who reads whom: {@code "new schema reads data of v2"} or the reverse
 * @param path the field path ({@code billing.address.zip}); empty for the record itself
 * @param oldType the type in the previous schema, or {@code (absent)}
 * @param newType the type in the new schema, or {@code (absent)}
 * @param message what breaks, in one sentence
 * @param hint a one-line fix
 * @param features the features that read the field (consumer rules only)
 * @param models the models that use the field (consumer rules only)
 */
public record Violation(
    String rule,
    String against,
    String direction,
    String path,
    String oldType,
    String newType,
    String message,
    String hint,
    List<String> features,
    List<String> models) {

  public Violation {
    features = List.copyOf(features);
    models = List.copyOf(models);
  }
}
