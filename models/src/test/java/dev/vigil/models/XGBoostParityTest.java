package dev.vigil.models;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The pure-Java evaluator against xgboost4j's own predictions on the same rows. */
class XGBoostParityTest {
  private static final List<String> NAMES =
      List.of("f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7");
  private static final int COLUMNS = NAMES.size();

  @TempDir Path dir;

  @ParameterizedTest
  @ValueSource(strings = {"binary:logistic", "binary:logitraw", "reg:squarederror"})
  void scoresEqualXgboostPredictOnRowsWithMissingValues(String objective) throws Exception {
    float[] train = TestingXGBoost.rows(1, 4000, COLUMNS, 0.15);
    Booster booster =
        TestingXGBoost.train(
            train, TestingXGBoost.labels(1, train, COLUMNS), COLUMNS, NAMES, objective, 80, 6, Map.of());
    Path file = dir.resolve("model.json");
    booster.saveModel(file.toString());

    XGBoostJsonModel model;
    if (objective.equals("binary:logistic")) {
      model = (XGBoostJsonModel) ModelLoader.load(file, "parity", NAMES);
    } else {
      // Margins are not probabilities: the loader refuses them for scoring (fails closed); the
      // parser still reads them exactly, which is what this test checks.
      org.assertj.core.api.Assertions.assertThatThrownBy(() -> ModelLoader.load(file, "parity", NAMES))
          .isInstanceOf(ModelException.class)
          .hasMessageContaining("objective \"" + objective + "\" scores margins, not probabilities");
      byte[] bytes = java.nio.file.Files.readAllBytes(file);
      model = XGBoostJsonModel.parse(file, bytes, "parity", ModelLoader.version("parity", bytes));
    }
    assertThat(model.trees()).isEqualTo(80);

    float[] test = TestingXGBoost.rows(2, 2000, COLUMNS, 0.2);
    DMatrix matrix = TestingXGBoost.matrix(test, COLUMNS);
    float[][] expected = booster.predict(matrix);
    float[][] expectedMargin = booster.predict(matrix, true);
    double maxError = 0;
    double maxMarginError = 0;
    double[] row = new double[COLUMNS];
    for (int r = 0; r < expected.length; r++) {
      for (int c = 0; c < COLUMNS; c++) {
        row[c] = test[r * COLUMNS + c];
      }
      maxError = Math.max(maxError, Math.abs(model.score(row) - expected[r][0]));
      maxMarginError = Math.max(maxMarginError, Math.abs(model.margin(row) - expectedMargin[r][0]));
    }
    System.out.printf(
        "XGBoost parity %s: %d rows, max |score - Booster.predict| = %.3g, max margin error = %.3g%n",
        objective, expected.length, maxError, maxMarginError);
    assertThat(maxError).isLessThanOrEqualTo(1e-6);
    assertThat(maxMarginError).isLessThanOrEqualTo(1e-5);
    matrix.dispose();
    booster.dispose();
  }

  @Test
  void anExplicitBaseScoreIsTheMarginOfAModelWithoutTrees() throws Exception {
    // base_score 0.3 with boost_from_average off: XGBoost writes it as "3E-1" or "[3E-1]".
    float[] train = TestingXGBoost.rows(3, 1000, COLUMNS, 0.1);
    Booster booster =
        TestingXGBoost.train(
            train, TestingXGBoost.labels(3, train, COLUMNS), COLUMNS, NAMES, "binary:logistic", 30, 4,
            Map.of("base_score", 0.3, "boost_from_average", 0));
    Path file = dir.resolve("based.json");
    booster.saveModel(file.toString());
    assertThat(Files.readString(file)).contains("\"base_score\":\"").contains("3E-1");

    Scorer model = ModelLoader.load(file, "based", NAMES);
    DMatrix matrix = TestingXGBoost.matrix(train, COLUMNS);
    float[][] expected = booster.predict(matrix);
    double[] row = new double[COLUMNS];
    for (int r = 0; r < 200; r++) {
      for (int c = 0; c < COLUMNS; c++) {
        row[c] = train[r * COLUMNS + c];
      }
      assertThat(model.score(row)).isCloseTo(expected[r][0], org.assertj.core.data.Offset.offset(1e-6));
    }
    matrix.dispose();
    booster.dispose();
  }
}
