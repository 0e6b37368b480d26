package dev.vigil.models;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;
import ml.dmlc.xgboost4j.java.XGBoostError;

/** Trains real XGBoost models (xgboost4j) on seeded random data with missing values. */
final class TestingXGBoost {
  private TestingXGBoost() {}

  /** Row-major float rows, about {@code missingRate} of the values NaN. */
  static float[] rows(long seed, int rows, int columns, double missingRate) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] data = new float[rows * columns];
    for (int i = 0; i < data.length; i++) {
      int column = i % columns;
      data[i] =
          random.nextDouble() < missingRate
              ? Float.NaN
              // Features on different scales, some integer-valued like counts.
              : column % 2 == 0
                  ? (float) (random.nextGaussian() * (column + 1))
                  : (float) Math.floor(random.nextDouble() * 100 * column);
    }
    return data;
  }

  /** A noisy non-linear label that also depends on missingness, so default directions matter. */
  static float[] labels(long seed, float[] data, int columns) {
    SplittableRandom random = new SplittableRandom(seed ^ 0x5DEECE66DL);
    int rows = data.length / columns;
    float[] labels = new float[rows];
    for (int r = 0; r < rows; r++) {
      double z = 0;
      for (int c = 0; c < columns; c++) {
        float x = data[r * columns + c];
        z += Float.isNaN(x) ? (c % 3 == 0 ? 0.8 : -0.4) : Math.sin(x / (c + 1.0)) * (c % 2 == 0 ? 1 : -0.7);
      }
      labels[r] = z + random.nextGaussian() * 0.5 > 0 ? 1f : 0f;
    }
    return labels;
  }

  static DMatrix matrix(float[] data, int columns) throws XGBoostError {
    return new DMatrix(data, data.length / columns, columns, Float.NaN);
  }

  static Booster train(
      float[] data, float[] labels, int columns, List<String> names, String objective, int trees, int depth,
      Map<String, Object> extra)
      throws XGBoostError {
    DMatrix train = matrix(data, columns);
    train.setLabel(labels);
    Map<String, Object> params = new HashMap<>();
    params.put("objective", objective);
    params.put("max_depth", depth);
    params.put("eta", 0.3);
    params.put("nthread", 1);
    params.put("seed", 7);
    params.put("tree_method", "hist");
    params.putAll(extra);
    Booster booster = XGBoost.train(train, params, trees, new HashMap<>(), null, null);
    booster.setFeatureNames(names.toArray(String[]::new));
    train.dispose();
    return booster;
  }

  /** A small binary:logistic model over {@code names}, saved as JSON at {@code file}. */
  static Path save(Path file, List<String> names, long seed, int trees) throws XGBoostError, IOException {
    int columns = names.size();
    float[] data = rows(seed, 500, columns, 0.1);
    Booster booster =
        train(data, labels(seed, data, columns), columns, names, "binary:logistic", trees, 3, Map.of());
    Files.createDirectories(file.toAbsolutePath().getParent());
    booster.saveModel(file.toString());
    booster.dispose();
    return file;
  }
}
