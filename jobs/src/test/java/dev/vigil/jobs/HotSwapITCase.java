package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Score;
import dev.vigil.avro.Transaction;
import dev.vigil.models.ModelLoader;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A new model file dropped into the watched directory mid-stream: the scores switch model version
 * without a restart, with no gap (every input scored) and no duplicate, and on each subtask the
 * version never goes back.
 */
class HotSwapITCase {
  @RegisterExtension static final MiniClusterExtension CLUSTER = TestingJob.cluster();
  @TempDir Path dir;

  static final int EVENTS = 300;

  @Test
  void aNewModelFileSwitchesTheScoresVersionWithNoGapNoDuplicateAndNoWayBack() throws Exception {
    CompiledSpec spec = TestingJob.spec();
    List<String> inputs = spec.spec().modelInputs();
    Path models = Files.createDirectories(dir.resolve("models"));
    Path first = TestModels.write(models.resolve("model-1.json"), inputs, -1.0, 1.0);
    String v1 = ModelLoader.version("test-model", Files.readAllBytes(first));
    ScoringConfig config = ScoringConfig.of(TestingJob.config("hs", models, 1));
    List<Transaction> txs = ExactlyOnceITCase.events(EVENTS, 6, 3, 20_000);

    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(TestingJob.flink(dir));
    ScoringJob.defineWorkflow(env, config, spec, ScoringJob.source(env, config, null),
        Sinks.kafka(config));
    JobClient job = env.executeAsync("hot swap");

    ExactlyOnceITCase.produce(config, txs.subList(0, 100));
    ExactlyOnceITCase.awaitCommittedScores(config, 100);

    // Written beside, then moved into place in one step, as a deployment would.
    Path staged = TestModels.write(dir.resolve("staging/model-2.json"), inputs, -0.5, 1.5);
    Files.setLastModifiedTime(staged, FileTime.from(Instant.now().plusSeconds(5)));
    String v2 = ModelLoader.version("test-model", Files.readAllBytes(staged));
    Files.move(staged, models.resolve("model-2.json"), StandardCopyOption.ATOMIC_MOVE);

    int sent = 100;
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (!versions(config).containsValue(v2)) {
      assertThat(System.nanoTime()).as("a score of the new model within 60 s").isLessThan(deadline);
      assertThat(sent).as("the new model scored before the input ran out").isLessThan(EVENTS);
      ExactlyOnceITCase.produce(config, txs.subList(sent, sent + 10));
      sent += 10;
      ExactlyOnceITCase.awaitCommittedScores(config, sent);
    }
    ExactlyOnceITCase.produce(config, txs.subList(sent, EVENTS));
    ExactlyOnceITCase.awaitCommittedScores(config, EVENTS);
    job.cancel().get(1, TimeUnit.MINUTES);

    List<String> ids = new ArrayList<>();
    Map<String, String> lastVersionBySubtask = new HashMap<>();
    for (var r : TestingKafka.readCommitted(config.scoresTopic())) {
      Score s = TestingJob.score(r);
      ids.add(s.getTransactionId());
      assertThat(s.getModelVersion()).isIn(v1, v2);
      String subtask = TestingJob.header(r, AvroRecordSerializer.H_SUBTASK);
      String before = lastVersionBySubtask.put(subtask, s.getModelVersion());
      if (v2.equals(before)) {
        assertThat(s.getModelVersion()).as("subtask %s after the swap", subtask).isEqualTo(v2);
      }
    }
    assertThat(ids).hasSize(EVENTS).doesNotHaveDuplicates();
    Map<String, String> versions = versions(config);
    for (Transaction t : txs.subList(0, 100)) {
      assertThat(versions.get(t.getTransactionId())).isEqualTo(v1);
    }
    assertThat(versions.get(txs.get(EVENTS - 1).getTransactionId())).isEqualTo(v2);
  }

  private static Map<String, String> versions(ScoringConfig config) throws Exception {
    Map<String, String> m = new HashMap<>();
    for (var r : TestingKafka.readCommitted(config.scoresTopic())) {
      Score s = TestingJob.score(r);
      m.put(s.getTransactionId(), s.getModelVersion());
    }
    return m;
  }
}
