package dev.vigil.models;

import java.util.List;

/**
 * What a loaded model is.
 *
 * @param name the model's name (e.g. {@code fraud-demo})
 * @param version what every {@code Score} records: changes whenever the model file's content does
 * @param kind {@code xgboost} or {@code onnx}
 * @param inputs the model's input features, in the order {@link Scorer#score} takes them
 */
public record ModelInfo(String name, String version, String kind, List<String> inputs) {
  public ModelInfo {
    inputs = List.copyOf(inputs);
  }
}
