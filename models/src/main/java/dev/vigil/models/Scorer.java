package dev.vigil.models;

/**
 * A loaded model: scores one feature vector. Implementations are immutable after loading and safe
 * to call from one thread at a time (one instance per Flink subtask); {@link #close()} frees
 * native resources (ONNX Runtime sessions).
 */
public interface Scorer extends AutoCloseable {
  /** What the model is: name, version, kind and its input features in order. */
  ModelInfo info();

  /**
   * The model's score (fraud probability in [0, 1]) for {@code inputs}, given in {@link
   * ModelInfo#inputs()} order; {@link Double#NaN} marks a missing value (a null feature).
   */
  double score(double[] inputs);

  @Override
  default void close() {}
}
