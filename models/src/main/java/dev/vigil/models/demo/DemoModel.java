package dev.vigil.models.demo;

import dev.vigil.models.ModelException;
import dev.vigil.models.ModelLoader;
import dev.vigil.models.Scorer;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The bundled demo model: XGBoost {@code binary:logistic} over the example spec's features,
 * trained on {@link FraudGenerator} data ({@code models/demo/rebuild-demo-model.sh} rebuilds it).
 */
public final class DemoModel {
  /** The model name in examples/features.yaml. */
  public static final String NAME = "fraud-demo";

  /** The classpath resource. */
  public static final String RESOURCE = "/dev/vigil/models/demo/fraud-demo.json";

  /** examples/features.yaml's features, in spec order: the demo model's inputs. */
  public static final List<String> INPUTS =
      List.of(
          "card_txn_count_365d",
          "card_amount_sum_30d",
          "card_amount_max_24h",
          "card_distinct_merchants_7d",
          "card_ms_since_last",
          "card_ms_since_first",
          "merchant_txn_count_1h");

  private DemoModel() {}

  /** The model file's bytes. */
  public static byte[] bytes() {
    try (InputStream in = DemoModel.class.getResourceAsStream(RESOURCE)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCE + " is not on the classpath (vigil-models jar)");
      }
      return in.readAllBytes();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The demo model, checked against {@code expectedInputs} like any other model file. */
  public static Scorer load(List<String> expectedInputs) throws ModelException {
    return ModelLoader.load(Path.of("classpath:" + RESOURCE), bytes(), NAME, expectedInputs);
  }

  /** Writes the model to {@code dir/fraud-demo.json} (e.g. for a {@code ModelWatcher} to watch). */
  public static Path extractTo(Path dir) throws IOException {
    Files.createDirectories(dir);
    Path tmp = Files.write(dir.resolve(".fraud-demo.json.tmp"), bytes());
    return Files.move(tmp, dir.resolve("fraud-demo.json"), java.nio.file.StandardCopyOption.ATOMIC_MOVE,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
  }
}
