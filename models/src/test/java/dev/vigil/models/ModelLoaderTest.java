package dev.vigil.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelLoaderTest {
  private static final List<String> SPEC = List.of("a", "b", "c");

  @TempDir Path dir;

  @Test
  void theVersionIsTheNameAndTheFirst12HexDigitsOfTheContentsSha256() throws Exception {
    Path file = TestingXGBoost.save(dir.resolve("m.json"), SPEC, 1, 3);
    Scorer model = ModelLoader.load(file, "fraud", SPEC);
    String sha = ModelLoader.sha256Hex(Files.readAllBytes(file));
    assertThat(model.info()).isEqualTo(new ModelInfo("fraud", "fraud@" + sha.substring(0, 12), "xgboost", SPEC));

    Files.writeString(file, Files.readString(file) + " "); // same model, different bytes
    assertThat(ModelLoader.load(file, "fraud", SPEC).info().version()).isNotEqualTo(model.info().version());
  }

  @Test
  void refusesAModelWithMissingAndExtraFeaturesNamingBoth() throws Exception {
    Path file = TestingXGBoost.save(dir.resolve("m.json"), List.of("a", "x", "c", "y"), 1, 3);
    assertThatThrownBy(() -> ModelLoader.load(file, "m", SPEC))
        .isInstanceOf(ModelException.class)
        .hasMessageStartingWith("Model " + file + ": ")
        .hasMessageContaining("missing (in the spec, not in the model): b;")
        .hasMessageContaining("extra (in the model, not in the spec): x, y")
        .hasMessageContaining("Fix: retrain");
  }

  @Test
  void refusesTheSameFeaturesInADifferentOrder() throws Exception {
    Path file = TestingXGBoost.save(dir.resolve("m.json"), List.of("c", "b", "a"), 1, 3);
    assertThatThrownBy(() -> ModelLoader.load(file, "m", SPEC))
        .isInstanceOf(ModelException.class)
        .hasMessageContaining("same features in a different order: model [c, b, a], spec [a, b, c]");
  }

  @Test
  void aFileOverTheSizeCapIsRefusedWithItsSizeBeforeItIsRead() throws Exception {
    Path big = dir.resolve("big.json");
    try (var out = java.nio.channels.FileChannel.open(big, java.nio.file.StandardOpenOption.CREATE,
        java.nio.file.StandardOpenOption.WRITE)) {
      out.write(java.nio.ByteBuffer.wrap(new byte[] {'{'}), 4096); // sparse: 4,097 bytes
    }
    System.setProperty(ModelLoader.MAX_BYTES_PROPERTY, "4096");
    try {
      assertThatThrownBy(() -> ModelLoader.load(big, "m", SPEC))
          .isInstanceOf(ModelException.class)
          .hasMessageContaining("big.json: is 4097 bytes, over the 4096-byte cap on a model file")
          .hasMessageContaining("-Dvigil.model.max-bytes=<bytes>");
      System.setProperty(ModelLoader.MAX_BYTES_PROPERTY, "lots");
      assertThatThrownBy(ModelLoader::maxBytes).hasMessageContaining("'lots' is not a positive");
    } finally {
      System.clearProperty(ModelLoader.MAX_BYTES_PROPERTY);
    }
    assertThat(ModelLoader.maxBytes()).isEqualTo(ModelLoader.DEFAULT_MAX_BYTES);
  }

  @Test
  void refusesAMissingFileAnUnknownExtensionAndAFileThatIsNotAModel() throws Exception {
    assertThatThrownBy(() -> ModelLoader.load(dir.resolve("nope.json"), "m", SPEC))
        .isInstanceOf(ModelException.class)
        .hasMessageContaining("nope.json: the file does not exist");
    Path pickle = Files.writeString(dir.resolve("m.pkl"), "x");
    assertThatThrownBy(() -> ModelLoader.load(pickle, "m", SPEC))
        .hasMessageContaining("unknown model format; name the file *.json")
        .hasMessageContaining("*.onnx");
    Path other = Files.writeString(dir.resolve("other.json"), "{\"weights\": [1, 2]}");
    assertThatThrownBy(() -> ModelLoader.load(other, "m", SPEC))
        .hasMessageContaining("not an XGBoost JSON model (no \"learner\" object)");
  }

  @Test
  void refusesUnsupportedBoostersObjectivesAndCategoricalSplits() throws Exception {
    String good = Files.readString(TestingXGBoost.save(dir.resolve("m.json"), SPEC, 1, 3));
    assertThat(refusal(good.replace("\"name\":\"gbtree\"", "\"name\":\"dart\"")))
        .contains("booster \"dart\" is not supported");
    assertThat(refusal(good.replace("\"binary:logistic\"", "\"multi:softprob\"")))
        .contains("objective \"multi:softprob\" is not supported");
    assertThat(refusal(good.replace("\"num_class\":\"0\"", "\"num_class\":\"3\"")))
        .contains("multi-class/multi-output models are not supported");
    assertThat(refusal(good.replaceFirst("\"split_type\":\\[0", "\"split_type\":[1")))
        .contains("has categorical splits");
    assertThat(refusal(good.replace("\"feature_names\":[\"a\",\"b\",\"c\"]", "\"feature_names\":[]")))
        .contains("has no feature names");
  }

  private String refusal(String json) throws Exception {
    Path file = Files.writeString(dir.resolve("edited.json"), json);
    try {
      ModelLoader.load(file, "m", SPEC);
    } catch (ModelException e) {
      return e.getMessage();
    }
    throw new AssertionError("loaded: " + json.substring(0, 200));
  }

  @Test
  void aLeafOnlyModelScoresTheSigmoidOfBaseMarginPlusLeaf() throws Exception {
    // One tree, one leaf of 0.25, base_score 0.5 in XGBoost 3.x's vector form.
    String json =
        """
        {"learner":{"feature_names":["a","b","c"],"feature_types":["float","float","float"],
         "gradient_booster":{"name":"gbtree","model":{"gbtree_model_param":{"num_trees":"1"},
          "tree_info":[0],"trees":[{"tree_param":{"num_nodes":"1","size_leaf_vector":"1"},
           "left_children":[-1],"right_children":[-1],"split_indices":[0],
           "split_conditions":[0.25],"default_left":[0],"split_type":[0]}]}},
         "learner_model_param":{"base_score":"[5E-1]","num_class":"0","num_feature":"3"},
         "objective":{"name":"binary:logistic"}},"version":[3,0,0]}
        """;
    Scorer model = ModelLoader.load(Files.writeString(dir.resolve("leaf.json"), json), "m", SPEC);
    assertThat(model.score(new double[] {Double.NaN, 1, 2})).isEqualTo(1 / (1 + Math.exp(-0.25f)), org.assertj.core.data.Offset.offset(1e-7));
    assertThatThrownBy(() -> model.score(new double[] {1, 2}))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("takes 3 inputs");
  }

  @Test
  void theScorerCodeDoesNotUseXgboost4j() throws Exception {
    // xgboost4j is optional (the trainer and tests only): the job does not get it.
    Path main = Path.of("src/main/java/dev/vigil/models");
    try (Stream<Path> files = Files.walk(main)) {
      List<Path> users =
          files
              .filter(p -> p.toString().endsWith(".java"))
              .filter(p -> !p.startsWith(main.resolve("train")))
              .filter(p -> read(p).contains("ml.dmlc"))
              .toList();
      assertThat(users).isEmpty();
    }
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /** A model that scores {@code f(inputs)}: a seam for the checks that run on every load. */
  private static Scorer fake(java.util.function.ToDoubleFunction<double[]> f) {
    return new Scorer() {
      @Override
      public ModelInfo info() {
        return new ModelInfo("fake", "fake@1", "test", List.of("a", "b"));
      }

      @Override
      public double score(double[] inputs) {
        return f.applyAsDouble(inputs);
      }
    };
  }

  @Test
  void aModelThatFailsTheCanaryIsRefusedWithWhatItScored() throws Exception {
    Path file = Path.of("m.json");
    ModelLoader.checkScoresAreProbabilities(file, fake(x -> 0.25)); // a probability: accepted
    assertThatThrownBy(() -> ModelLoader.checkScoresAreProbabilities(file,
        fake(x -> Double.isNaN(x[0]) ? 0.1 : 3.5)))
        .isInstanceOf(ModelException.class)
        .hasMessageContaining("canary vector (all inputs 0) scored 3.5, not a probability");
    assertThatThrownBy(() -> ModelLoader.checkScoresAreProbabilities(file, fake(x -> {
      throw new ArrayIndexOutOfBoundsException("7");
    }))).isInstanceOf(ModelException.class)
        .hasMessageContaining("failed to score: java.lang.ArrayIndexOutOfBoundsException: 7");
  }

  @Test
  void aNonFiniteScoreIsNeverApproved() {
    Thresholds t = new Thresholds(0.5, 0.9);
    assertThat(t.decide(Double.NaN)).isEqualTo(Decision.REVIEW);
    assertThat(t.decide(Double.NEGATIVE_INFINITY)).isEqualTo(Decision.REVIEW);
    assertThat(t.decide(-0.1)).isEqualTo(Decision.REVIEW);
    assertThat(t.decide(1.2)).isEqualTo(Decision.REVIEW);
    assertThat(t.decide(0.1)).isEqualTo(Decision.APPROVE);
    assertThat(t.decide(0.95)).isEqualTo(Decision.DECLINE);
  }
}
