package dev.vigil.models.demo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.models.Scorer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoModelTest {
  @TempDir Path dir;

  @Test
  void theDemoInputsAreTheExampleSpecsFeaturesInSpecOrder() throws Exception {
    String spec = Files.readString(Path.of("../examples/features.yaml"));
    List<String> names = new ArrayList<>();
    Matcher m = Pattern.compile("\\{name: (\\w+),").matcher(spec);
    while (m.find()) {
      names.add(m.group(1));
    }
    assertThat(names).isEqualTo(DemoModel.INPUTS);
  }

  @Test
  void theBundledModelLoadsAgainstTheSpecAndScoresFraudHigherThanAnOrdinaryPayment() throws Exception {
    try (Scorer model = DemoModel.load(DemoModel.INPUTS)) {
      assertThat(model.info().kind()).isEqualTo("xgboost");
      assertThat(model.info().version()).startsWith("fraud-demo@").hasSize("fraud-demo@".length() + 12);
      // An established card, last used a day ago, at a quiet merchant.
      double ordinary = model.score(new double[] {120, 150_000, 9_000, 4, 86_400_000, 300L * 86_400_000, 2});
      // Card testing: a burst of small payments seconds apart.
      double testing = model.score(new double[] {130, 160_000, 900, 3, 30_000, 300L * 86_400_000, 2});
      assertThat(ordinary).isLessThan(0.5);
      assertThat(testing).isGreaterThan(0.5);
    }
  }

  @Test
  void extractToWritesTheSameBytesUnderTheModelName() throws Exception {
    Path file = DemoModel.extractTo(dir);
    assertThat(file.getFileName().toString()).isEqualTo("fraud-demo.json");
    assertThat(Files.readAllBytes(file)).isEqualTo(DemoModel.bytes());
    assertThat(DemoModel.bytes().length).isLessThan(200 * 1024);
  }
}
