package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Score;
import dev.vigil.models.ModelLoader;
import dev.vigil.models.Thresholds;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;
import org.apache.avro.generic.GenericData;
import org.apache.flink.api.common.JobID;
import org.apache.flink.metrics.Counter;
import org.apache.flink.runtime.clusterframework.types.ResourceID;
import org.apache.flink.runtime.executiongraph.ExecutionAttemptID;
import org.apache.flink.runtime.metrics.groups.TaskManagerMetricGroup;
import org.apache.flink.runtime.metrics.util.TestingMetricRegistry;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model file that fails to load on a hot swap (issue 15, point 3): the score stage keeps the
 * model it has, says so with the {@code vigil.model_refusals} metric and a WARN line, and takes
 * the next good file.
 */
class ModelRefusalTest {
  static final long T = 1_772_366_400_000L; // 2026-03-01T12:00:00Z
  @TempDir Path dir;

  @Test
  void aBrokenModelFileIsRefusedTheOldModelKeepsScoringAndTheRefusalIsCounted() throws Exception {
    CompiledSpec spec = TestingJob.spec();
    CompiledSpec envelope = Envelope.compile(spec);
    Path models = Files.createDirectories(dir.resolve("models"));
    Path first = TestModels.write(models.resolve("a.json"), spec.spec().modelInputs(), -3.0, 3.0);
    String firstVersion = ModelLoader.version("test-model", Files.readAllBytes(first));

    Map<String, Counter> counters = new ConcurrentHashMap<>();
    TestingMetricRegistry registry = TestingMetricRegistry.builder()
        .setRegisterConsumer((metric, name, group) -> {
          if (metric instanceof Counter c) {
            counters.put(name, c);
          }
        })
        .build();
    MockEnvironment env = new MockEnvironmentBuilder()
        .setMetricGroup(TaskManagerMetricGroup.createTaskManagerMetricGroup(
                registry, "localhost", ResourceID.generate())
            .addJob(new JobID(), "test")
            .addTask(ExecutionAttemptID.randomId(), "score"))
        .build();
    try (CapturedLogs logs = CapturedLogs.capture();
        var harness = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(
            new ScoreFunction(envelope, "in", models, null, Duration.ofMillis(50),
                new Thresholds(0.5, 0.9), Duration.ofHours(24))), env)) {
      harness.open();
      harness.processElement(new StreamRecord<>(event(envelope, "t1")));

      // a newer file that is not a model, moved into place as a deployment would
      Path tmp = Files.writeString(dir.resolve("b.json.tmp"), "{\"learner\": trunc",
          StandardCharsets.UTF_8);
      Files.setLastModifiedTime(tmp, FileTime.fromMillis(System.currentTimeMillis() + 5_000));
      Files.move(tmp, models.resolve("b.json"), StandardCopyOption.ATOMIC_MOVE);
      await("the broken file is refused", () -> count(counters, "model_refusals") == 1);
      harness.processElement(new StreamRecord<>(event(envelope, "t2")));

      // then a good one
      Path good = TestModels.write(dir.resolve("c.json.tmp"), spec.spec().modelInputs(), 3.0, 3.0);
      Files.setLastModifiedTime(good, FileTime.fromMillis(System.currentTimeMillis() + 10_000));
      Files.move(good, models.resolve("c.json"), StandardCopyOption.ATOMIC_MOVE);
      await("the good file is swapped in", () -> count(counters, "model_swaps") == 1);
      harness.processElement(new StreamRecord<>(event(envelope, "t3")));

      List<Score> scores = harness.extractOutputValues();
      assertThat(scores).extracting(Score::getTransactionId).containsExactly("t1", "t2", "t3");
      assertThat(scores.get(0).getModelVersion()).isEqualTo(firstVersion);
      assertThat(scores.get(1).getModelVersion()).as("after the refusal: the old model")
          .isEqualTo(firstVersion);
      assertThat(scores.get(2).getModelVersion()).isNotEqualTo(firstVersion);
      assertThat(count(counters, "model_refusals")).isEqualTo(1);
      assertThat(count(counters, "scored")).isEqualTo(3);
      assertThat(logs.text()).contains("model file refused, the current model keeps scoring");
    }
  }

  static long count(Map<String, Counter> counters, String name) {
    Counter c = counters.get(name);
    return c == null ? -1 : c.getCount();
  }

  static FeatureEvent event(CompiledSpec envelope, String id) {
    byte[] original = {0, 0, 0, 0, 7, 1, 2, 3};
    GenericData.Record r = Envelope.wrap(envelope.schema(),
        TestingJob.tx(id, "c1", "m1", 10, T), original, T - 5);
    FeatureEvent e = new FeatureEvent(r, Seq.of(1, 42), 4);
    Object[] values = {5L, 50L, 20L, 1L};
    System.arraycopy(values, 0, e.values, 0, values.length);
    return e;
  }

  static void await(String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(what + ": not within 10 s");
      }
      Thread.sleep(20); // polling a background thread's counter, not synchronisation
    }
  }
}
