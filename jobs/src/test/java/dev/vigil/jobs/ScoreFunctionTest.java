package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.DeadLetter;
import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Score;
import dev.vigil.models.ModelLoader;
import dev.vigil.models.Thresholds;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.apache.avro.generic.GenericData;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ScoreFunctionTest {
  static final long T = 1_772_366_400_000L; // 2026-03-01T12:00:00Z
  @TempDir Path dir;
  CompiledSpec envelope;
  Path model;
  Path shadow;
  OneInputStreamOperatorTestHarness<FeatureEvent, Score> harness;

  @BeforeEach
  void open() throws Exception {
    CompiledSpec spec = TestingJob.spec();
    envelope = Envelope.compile(spec);
    model = TestModels.write(dir.resolve("model.json"), spec.spec().modelInputs(), -3.0, 3.0);
    shadow = TestModels.write(dir.resolve("shadow/model.json"), spec.spec().modelInputs(), 3.0, 3.0);
    harness = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new ScoreFunction(
        envelope, "in", model, shadow, Duration.ofSeconds(10), new Thresholds(0.5, 0.9),
        Duration.ofHours(24))));
    harness.open();
  }

  FeatureEvent event(String id, Object... values) {
    byte[] original = {0, 0, 0, 0, 7, 1, 2, 3};
    GenericData.Record r = Envelope.wrap(envelope.schema(), TestingJob.tx(id, "c1", "m1", 10, T),
        original, T - 5);
    FeatureEvent e = new FeatureEvent(r, Seq.of(1, 42), values.length);
    System.arraycopy(values, 0, e.values, 0, values.length);
    return e;
  }

  @Test
  void aScoreCarriesTheModelVersionTheDecisionTheInputsAndTheShadowsOpinion() throws Exception {
    harness.processElement(new StreamRecord<>(event("t1", 5L, 50L, 20L, 1L)));
    Score s = harness.extractOutputValues().get(0);
    assertThat(s.getTransactionId()).isEqualTo("t1");
    assertThat(s.getModelVersion())
        .isEqualTo(ModelLoader.version("test-model", Files.readAllBytes(model)));
    assertThat(s.getScore()).isCloseTo(1 / (1 + Math.exp(-3.0)), org.assertj.core.data.Offset.offset(1e-6));
    assertThat(s.getDecision()).isEqualTo(dev.vigil.avro.Decision.DECLINE);
    assertThat(s.getFeatures()).containsEntry("card_txn_count_1h", 5L);
    assertThat(s.getShadow().getModelVersion()).startsWith("test-model-shadow@");
    FeatureVector v = harness.getSideOutput(ScoreFunction.FEATURES).iterator().next().getValue();
    assertThat(v.getEntityKeys()).isEqualTo(Map.of("card", "c1", "merchant", "m1"));
    assertThat(v.getSpecFingerprint()).isEqualTo(envelope.spec().fingerprint());
  }

  @Test
  void aNullFeatureIsAMissingInputAndStaysNullInTheScore() throws Exception {
    // the tree sends missing values left: the low leaf
    harness.processElement(new StreamRecord<>(event("t2", null, 0L, null, 0L)));
    Score s = harness.extractOutputValues().get(0);
    assertThat(s.getScore()).isLessThan(0.5);
    assertThat(s.getDecision()).isEqualTo(dev.vigil.avro.Decision.APPROVE);
    Map<String, Object> expected = new HashMap<>();
    expected.put("card_txn_count_1h", null);
    expected.put("card_amount_sum_1h", 0L);
    expected.put("card_amount_max_1h", null);
    expected.put("merchant_txn_count_1h", 0L);
    assertThat(s.getFeatures()).isEqualTo(expected);
  }

  @Test
  void duplicatesAreDeadLetteredWithTheirOriginalBytesNeverScoredWhileLateEventsAreScored()
      throws Exception {
    FeatureEvent late = event("t3", null, null, null, 3L);
    late.late = true;
    FeatureEvent duplicate = event("t4", null, null, null, null);
    duplicate.duplicate = true;
    harness.processElement(new StreamRecord<>(late));
    harness.processElement(new StreamRecord<>(duplicate));
    assertThat(harness.extractOutputValues()).extracting(s -> s.getTransactionId().toString())
        .containsExactly("t3");
    var dead = harness.getSideOutput(DeadLetters.TAG).stream().map(StreamRecord::getValue).toList();
    assertThat(dead).extracting(DeadLetter::getReason).containsExactly(DeadLetters.DUPLICATE);
    for (DeadLetter d : dead) {
      assertThat(d.getOriginal()).isEqualTo(ByteBuffer.wrap(new byte[] {0, 0, 0, 0, 7, 1, 2, 3}));
      assertThat(d.getSchemaId()).isEqualTo(7);
      assertThat(d.getSourcePartition()).isEqualTo(1);
      assertThat(d.getSourceOffset()).isEqualTo(42);
    }
  }

  @Test
  void withEveryFeatureAsModelInputTheScoreAndTheFeatureVectorCarryTheSameValues()
      throws Exception {
    assertThat(envelope.spec().modelInputs()).isEqualTo(envelope.spec().featureNames());
    harness.processElement(new StreamRecord<>(event("t5", 5L, null, 20L, 1L)));
    Score s = harness.extractOutputValues().get(0);
    FeatureVector v = harness.getSideOutput(ScoreFunction.FEATURES).iterator().next().getValue();
    assertThat(s.getFeatures()).containsOnlyKeys(envelope.spec().featureNames());
    assertThat(v.getFeatures()).isEqualTo(s.getFeatures());
  }

  @Test
  void withSomeFeaturesAsModelInputTheScoreCarriesThoseAndTheFeatureVectorAll() throws Exception {
    Path specFile = dir.resolve("spec.yaml");
    Files.writeString(specFile, Files.readString(TestingJob.specFile())
        + "  inputs: [merchant_txn_count_1h, card_txn_count_1h]\n");
    CompiledSpec spec = Envelope.compile(CompiledSpec.load(specFile));
    assertThat(spec.spec().modelInputs())
        .containsExactly("merchant_txn_count_1h", "card_txn_count_1h");
    Path m = TestModels.write(dir.resolve("subset/model.json"), spec.spec().modelInputs(), -3.0,
        3.0);
    var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new ScoreFunction(
        spec, "in", m, null, Duration.ofSeconds(10), new Thresholds(0.5, 0.9),
        Duration.ofHours(24))));
    h.open();
    FeatureEvent e = event("t6", 5L, 50L, null, 1L);
    h.processElement(new StreamRecord<>(e));
    Score s = h.extractOutputValues().get(0);
    assertThat(s.getShadow()).isNull();
    // (the harness hands out copies: the map's order is not the emitted one)
    assertThat(s.getFeatures()).containsOnlyKeys("merchant_txn_count_1h", "card_txn_count_1h");
    assertThat(s.getFeatures()).containsEntry("merchant_txn_count_1h", 1L)
        .containsEntry("card_txn_count_1h", 5L);
    FeatureVector v = h.getSideOutput(ScoreFunction.FEATURES).iterator().next().getValue();
    Map<String, Object> all = new HashMap<>();
    all.put("card_txn_count_1h", 5L);
    all.put("card_amount_sum_1h", 50L);
    all.put("card_amount_max_1h", null);
    all.put("merchant_txn_count_1h", 1L);
    assertThat(v.getFeatures()).isEqualTo(all);
    h.close();
  }

  @Test
  void identitySlotsAreEveryFeatureInOrder() {
    assertThat(ScoreFunction.isIdentity(new int[] {0, 1, 2}, 3)).isTrue();
    assertThat(ScoreFunction.isIdentity(new int[] {}, 0)).isTrue();
    assertThat(ScoreFunction.isIdentity(new int[] {0, 2, 1}, 3)).isFalse();
    assertThat(ScoreFunction.isIdentity(new int[] {0, 1}, 3)).isFalse();
  }

  @Test
  void aModelThatScoresNaNNeverApprovesTheEventIsAModelErrorDeadLetterOrReview() throws Exception {
    Path broken = TestModels.writeNaNWhenHigh(dir.resolve("broken/model.json"),
        envelope.spec().modelInputs(), -3.0);
    for (ScoreFunction.OnModelError policy : ScoreFunction.OnModelError.values()) {
      var h = new OneInputStreamOperatorTestHarness<>(new ProcessOperator<>(new ScoreFunction(
          envelope, "in", broken, null, Duration.ofSeconds(10), new Thresholds(0.5, 0.9),
          Duration.ofHours(24), policy)));
      h.open();
      h.processElement(new StreamRecord<>(event("ok", 1L, 0L, 0L, 0L))); // low leaf: scored
      h.processElement(new StreamRecord<>(event("nan", 5L, 0L, 0L, 0L))); // high leaf: NaN
      var dead = h.getSideOutput(DeadLetters.TAG) == null ? java.util.List.<DeadLetter>of()
          : h.getSideOutput(DeadLetters.TAG).stream().map(StreamRecord::getValue).toList();
      if (policy == ScoreFunction.OnModelError.DEAD_LETTER) {
        assertThat(h.extractOutputValues()).extracting(x -> x.getTransactionId().toString())
            .containsExactly("ok");
        assertThat(dead).singleElement().satisfies(d -> {
          assertThat(d.getReason()).isEqualTo(DeadLetters.MODEL_ERROR);
          assertThat(d.getMessage()).contains("scored NaN, not a probability in [0, 1]");
          assertThat(d.getOriginal()).isEqualTo(ByteBuffer.wrap(new byte[] {0, 0, 0, 0, 7, 1, 2, 3}));
        });
      } else {
        assertThat(dead).isEmpty();
        Score s = h.extractOutputValues().get(1);
        assertThat(s.getTransactionId()).hasToString("nan");
        assertThat(s.getDecision()).isEqualTo(dev.vigil.avro.Decision.REVIEW);
        assertThat(s.getScore()).isNaN();
      }
      assertThat(h.extractOutputValues().get(0).getDecision())
          .isEqualTo(dev.vigil.avro.Decision.APPROVE);
      h.close();
    }
  }

  @Test
  void aModelThatThrowsOrScoresOutOfRangeIsAnErrorNeverAnException() {
    dev.vigil.models.Scorer throwing = fake(x -> {
      throw new IllegalStateException("session closed");
    });
    ScoreFunction.Verdict v = ScoreFunction.score(throwing, new double[2]);
    assertThat(v.error()).isEqualTo(
        "model fake@1 threw java.lang.IllegalStateException: session closed");
    assertThat(v.score()).isNaN();
    assertThat(ScoreFunction.score(fake(x -> 1.5), new double[2]).error())
        .isEqualTo("model fake@1 scored 1.5, not a probability in [0, 1]");
    assertThat(ScoreFunction.score(fake(x -> Double.POSITIVE_INFINITY), new double[2]).error())
        .contains("scored Infinity");
    assertThat(ScoreFunction.score(fake(x -> 0.25), new double[2]))
        .isEqualTo(new ScoreFunction.Verdict(0.25, null));
  }

  private static dev.vigil.models.Scorer fake(java.util.function.ToDoubleFunction<double[]> f) {
    return new dev.vigil.models.Scorer() {
      @Override
      public dev.vigil.models.ModelInfo info() {
        return new dev.vigil.models.ModelInfo("fake", "fake@1", "test", java.util.List.of("a"));
      }

      @Override
      public double score(double[] inputs) {
        return f.applyAsDouble(inputs);
      }
    };
  }
}
