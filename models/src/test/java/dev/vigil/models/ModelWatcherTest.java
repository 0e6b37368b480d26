package dev.vigil.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelWatcherTest {
  private static final List<String> SPEC = List.of("a", "b", "c");
  private static final Duration POLL = Duration.ofMillis(25);
  private static final Duration DEADLINE = Duration.ofSeconds(20);

  @TempDir Path dir;

  /** What the listener saw. */
  static final class Recording implements ModelWatcher.Listener {
    final List<String> swaps = new CopyOnWriteArrayList<>();
    final List<String> refusals = new CopyOnWriteArrayList<>();

    @Override
    public void swapped(ModelInfo from, ModelInfo to) {
      swaps.add(from.version() + "->" + to.version());
    }

    @Override
    public void refused(Path file, ModelException why) {
      refusals.add(file.getFileName() + ": " + why.getMessage());
    }
  }

  private static void await(String what, BooleanSupplier condition) {
    Instant deadline = Instant.now().plus(DEADLINE);
    while (!condition.getAsBoolean()) {
      if (Instant.now().isAfter(deadline)) {
        throw new AssertionError("not within " + DEADLINE + ": " + what);
      }
      try {
        Thread.sleep(5);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError(e);
      }
    }
  }

  /** Writes a model under a temporary name and renames it into place, as producers should. */
  private Path publish(Path target, List<String> names, long seed) throws Exception {
    Path tmp = TestingXGBoost.save(dir.resolve("staging").resolve(target.getFileName()), names, seed, 5);
    return Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
  }

  private static String versionOf(Path file) throws Exception {
    return ModelLoader.version("m", Files.readAllBytes(file));
  }

  @Test
  void aNewModelFileIsSwappedInAndScoresFromThen() throws Exception {
    Path file = publish(dir.resolve("model.json"), SPEC, 1);
    String first = versionOf(file);
    Recording listener = new Recording();
    try (ModelWatcher watcher = ModelWatcher.start(file, "m", SPEC, POLL, listener)) {
      assertThat(watcher.current().info().version()).isEqualTo(first);
      double before = watcher.current().score(new double[] {1, 2, 3});

      publish(file, SPEC, 2);
      String second = versionOf(file);
      await("the new model is swapped in", () -> watcher.swaps() == 1);

      assertThat(second).isNotEqualTo(first);
      assertThat(watcher.current().info().version()).isEqualTo(second);
      assertThat(watcher.current().score(new double[] {1, 2, 3})).isNotEqualTo(before);
      assertThat(listener.swaps).containsExactly(first + "->" + second);
      assertThat(watcher.refusals()).isZero();
    }
  }

  @Test
  void theSameBytesRewrittenAreNotANewModel() throws Exception {
    Path file = publish(dir.resolve("model.json"), SPEC, 1);
    Path copy = dir.resolve("copy.json");
    Files.copy(file, copy);
    try (ModelWatcher watcher = ModelWatcher.start(file, "m", SPEC, POLL, null)) {
      Files.setLastModifiedTime(copy, FileTime.fromMillis(System.currentTimeMillis() + 5_000));
      Files.move(copy, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      long seen = watcher.polls();
      // Three polls: one sees the change, the next finds it stable and hashes it.
      await("three polls", () -> watcher.polls() >= seen + 3);
      assertThat(watcher.swaps()).isZero();
      assertThat(watcher.refusals()).isZero();
    }
  }

  @Test
  void aCorruptFileIsRefusedTheOldModelKeepsScoringAndALaterGoodFileIsTaken() throws Exception {
    Path file = publish(dir.resolve("model.json"), SPEC, 1);
    String first = versionOf(file);
    Recording listener = new Recording();
    try (ModelWatcher watcher = ModelWatcher.start(file, "m", SPEC, POLL, listener)) {
      Path broken = dir.resolve("broken.tmp");
      Files.writeString(broken, "{\"learner\": {\"feature_names\": [\"a\", ");
      Files.move(broken, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      await("the corrupt file is refused", () -> watcher.refusals() == 1);

      assertThat(listener.refusals).singleElement().asString().contains("model.json", "not valid JSON");
      assertThat(watcher.current().info().version()).isEqualTo(first);
      assertThat(watcher.current().score(new double[] {1, 2, 3})).isBetween(0.0, 1.0);

      publish(file, SPEC, 2);
      await("the good file is swapped in", () -> watcher.swaps() == 1);
      assertThat(watcher.current().info().version()).isEqualTo(versionOf(file));
      assertThat(watcher.refusals()).isEqualTo(1);
    }
  }

  @Test
  void aModelMissingASpecInputIsRefusedNamingTheFeature() throws Exception {
    Path file = publish(dir.resolve("model.json"), SPEC, 1);
    String first = versionOf(file);
    Recording listener = new Recording();
    try (ModelWatcher watcher = ModelWatcher.start(file, "m", SPEC, POLL, listener)) {
      publish(file, List.of("a", "b", "z"), 2);
      await("the mismatching model is refused", () -> watcher.refusals() == 1);

      assertThat(listener.refusals)
          .singleElement()
          .asString()
          .contains("missing (in the spec, not in the model): c", "extra (in the model, not in the spec): z");
      assertThat(watcher.swaps()).isZero();
      assertThat(watcher.current().info().version()).isEqualTo(first);
    }
  }

  @Test
  void inADirectoryTheNewestModelFileWinsAndTemporaryFilesAreIgnored() throws Exception {
    Path models = Files.createDirectories(dir.resolve("models"));
    Path older = publish(models.resolve("fraud-1.json"), SPEC, 1);
    Files.setLastModifiedTime(older, FileTime.fromMillis(System.currentTimeMillis() - 60_000));
    Path newer = publish(models.resolve("fraud-2.json"), SPEC, 2);
    try (ModelWatcher watcher = ModelWatcher.start(models, "m", SPEC, POLL, null)) {
      assertThat(watcher.current().info().version()).isEqualTo(versionOf(newer));

      // Being written under a name the watcher ignores: no effect.
      Files.writeString(models.resolve("fraud-3.json.tmp"), "{ half a model");
      Files.writeString(models.resolve(".fraud-3.json"), "{ half a model");
      Path third = publish(models.resolve("fraud-3.json"), SPEC, 3);
      Files.setLastModifiedTime(third, FileTime.fromMillis(System.currentTimeMillis() + 1_000));
      await("the newest file is swapped in", () -> watcher.swaps() == 1);

      assertThat(watcher.current().info().version()).isEqualTo(versionOf(third));
      assertThat(watcher.refusals()).isZero();
    }
  }

  @Test
  void aFileStillGrowingIsNotLoadedUntilItsSizeIsStable() throws Exception {
    Path file = publish(dir.resolve("model.json"), SPEC, 1);
    byte[] next = Files.readAllBytes(TestingXGBoost.save(dir.resolve("staging/next.json"), SPEC, 2, 5));
    Duration slowPoll = Duration.ofMillis(500);
    try (ModelWatcher watcher = ModelWatcher.start(file, "m", SPEC, slowPoll, null)) {
      // Written in place (what producers should not do), a chunk every few ms: never stable for
      // two polls (a misfire needs the writer to stall for a whole second).
      Files.write(file, new byte[0], StandardOpenOption.TRUNCATE_EXISTING);
      int chunk = Math.max(1, next.length / 200);
      for (int offset = 0; offset < next.length; offset += chunk) {
        Files.write(
            file,
            java.util.Arrays.copyOfRange(next, offset, Math.min(next.length, offset + chunk)),
            StandardOpenOption.APPEND);
        Thread.sleep(5);
      }
      await("the finished file is swapped in", () -> watcher.swaps() == 1);
      assertThat(watcher.refusals()).as("a partial file was loaded").isZero();
    }
  }

  @Test
  void theReplacedOnnxScorerIsClosedAfterTheGracePeriod() throws Exception {
    Path file = dir.resolve("m.onnx");
    Files.write(file, TestingOnnx.logistic(new float[] {1f, 1f, 1f}, 0f, "a,b,c", false));
    try (ModelWatcher watcher = ModelWatcher.start(file, "m", SPEC, POLL, null)) {
      Scorer first = watcher.current();
      Path tmp = dir.resolve("m.onnx.tmp");
      Files.write(tmp, TestingOnnx.logistic(new float[] {2f, 1f, 1f}, 0f, "a,b,c", false));
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      await("the new model is swapped in", () -> watcher.swaps() == 1);

      await(
          "the replaced session is closed",
          () -> {
            try {
              first.score(new double[] {0, 0, 0});
              return false;
            } catch (IllegalStateException closed) {
              return true;
            }
          });
      assertThat(watcher.current().score(new double[] {1, 0, 0})).isCloseTo(1 / (1 + Math.exp(-2)), org.assertj.core.data.Offset.offset(1e-6));
    }
  }

  @Test
  void startFailsWhenThereIsNoModelToLoad() throws Exception {
    Path empty = Files.createDirectories(dir.resolve("empty"));
    assertThatThrownBy(() -> ModelWatcher.start(empty, "m", SPEC, POLL, null))
        .isInstanceOf(ModelException.class)
        .hasMessageContaining("no *.json or *.onnx");
    Path mismatching = publish(dir.resolve("model.json"), List.of("a", "b"), 1);
    assertThatThrownBy(() -> ModelWatcher.start(mismatching, "m", SPEC, POLL, null))
        .isInstanceOf(ModelException.class)
        .hasMessageContaining("missing (in the spec, not in the model): c");
  }

  @Test
  void aFixedWatcherAlwaysReturnsItsScorer() throws Exception {
    Scorer scorer = ModelLoader.load(publish(dir.resolve("model.json"), SPEC, 1), "m", SPEC);
    try (ModelWatcher watcher = ModelWatcher.fixed(scorer)) {
      assertThat(watcher.current()).isSameAs(scorer);
      assertThat(watcher.swaps()).isZero();
    }
  }
}
