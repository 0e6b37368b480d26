package dev.vigil.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.data.Offset.offset;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ONNX models written by {@link TestingOnnx}, run by the real ONNX Runtime. */
class OnnxModelTest {
  private static final List<String> SPEC = List.of("amount", "count_1h", "ms_since_last");
  private static final float[] W = {0.8f, -1.5f, 0.25f};
  private static final float B = -0.3f;

  @TempDir Path dir;

  private Path write(String fileName, byte[] bytes) throws Exception {
    return Files.write(dir.resolve(fileName), bytes);
  }

  @Test
  void scoresTheLogisticOfTheLinearModelAsComputedByHand() throws Exception {
    Path file = write("m.onnx", TestingOnnx.logistic(W, B, String.join(",", SPEC), false));
    try (Scorer model = ModelLoader.load(file, "lin", SPEC)) {
      assertThat(model.info().kind()).isEqualTo("onnx");
      assertThat(model.info().inputs()).isEqualTo(SPEC);
      SplittableRandom random = new SplittableRandom(11);
      for (int i = 0; i < 200; i++) {
        double[] x = {random.nextGaussian() * 2, random.nextInt(20), random.nextDouble() * 3};
        double z = B;
        for (int j = 0; j < x.length; j++) {
          z += W[j] * (float) x[j];
        }
        assertThat(model.score(x)).isCloseTo(1 / (1 + Math.exp(-z)), offset(1e-6));
      }
    }
  }

  @Test
  void aTwoClassProbabilitiesOutputIsScoredByItsSecondColumn() throws Exception {
    Path file = write("two.onnx", TestingOnnx.logistic(W, B, String.join(",", SPEC), true));
    try (OnnxModel model = (OnnxModel) ModelLoader.load(file, "two", SPEC)) {
      assertThat(model.outputName()).isEqualTo("probabilities");
      double[] x = {1.0, 2.0, 0.5};
      double z = B + W[0] * 1.0 + W[1] * 2.0 + W[2] * 0.5;
      assertThat(model.score(x)).isCloseTo(1 / (1 + Math.exp(-z)), offset(1e-6));
    }
  }

  @Test
  void refusesAModelThatDoesNotReadASpecFeatureAndNamesIt() throws Exception {
    Path file =
        write("short.onnx", TestingOnnx.logistic(new float[] {1f, 2f, 3f}, 0f, "amount,count_1h,device_age", false));
    assertThatThrownBy(() -> ModelLoader.load(file, "short", SPEC))
        .isInstanceOf(ModelException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("missing (in the spec, not in the model): ms_since_last")
        .hasMessageContaining("extra (in the model, not in the spec): device_age");
  }

  @Test
  void withoutTheInputsMetadataTheTensorNameIsTheInputAndTheFixSaysToAddIt() throws Exception {
    Path file = write("anon.onnx", TestingOnnx.logistic(new float[] {1f}, 0f, null, false));
    assertThatThrownBy(() -> ModelLoader.load(file, "anon", List.of("amount")))
        .isInstanceOf(ModelException.class)
        .hasMessageContaining("missing (in the spec, not in the model): amount")
        .hasMessageContaining("extra (in the model, not in the spec): X")
        .hasMessageContaining("vigil.inputs");
  }

  @Test
  void refusesMetadataThatNamesMoreFeaturesThanTheTensorHasColumns() throws Exception {
    Path file = write("wide.onnx", TestingOnnx.logistic(new float[] {1f, 2f}, 0f, String.join(",", SPEC), false));
    assertThatThrownBy(() -> ModelLoader.load(file, "wide", SPEC))
        .isInstanceOf(ModelException.class)
        .hasMessageContaining("has 2 columns but metadata_props vigil.inputs names 3 features");
  }

  @Test
  void refusesBytesThatAreNotAnOnnxModel() throws Exception {
    byte[] good = TestingOnnx.logistic(W, B, String.join(",", SPEC), false);
    Path file = write("cut.onnx", java.util.Arrays.copyOf(good, good.length / 2));
    assertThatThrownBy(() -> ModelLoader.load(file, "cut", SPEC))
        .isInstanceOf(ModelException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("ONNX Runtime cannot load it");
  }

  @Test
  void scoringAClosedModelFailsInsteadOfTouchingAFreedSession() throws Exception {
    Path file = write("m.onnx", TestingOnnx.logistic(W, B, String.join(",", SPEC), false));
    Scorer model = ModelLoader.load(file, "lin", SPEC);
    model.close();
    model.close(); // idempotent
    assertThatThrownBy(() -> model.score(new double[] {1, 2, 3}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("closed");
  }
}
