package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.io.KeyPartitioner;
import dev.vigil.transforms.offline.PointInTimeEvaluator;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Exact at any scale, on a real broker: an input of 4 partitions keyed by card, the job at
 * parallelism 4 and at 3 (partitions and subtasks that do not divide evenly), three workloads:
 *
 * <ul>
 *   <li>a catch-up: all history in the topic before the job starts;
 *   <li>a live stream with one slow partition, one idle partition and bursts;
 *   <li>events out of order per card within the watermark's bound.
 * </ul>
 *
 * <p>In each, every feature of every entity of every event equals the offline evaluation of the
 * same events ({@link PointInTimeEvaluator} over the events in event-time order): zero mismatches,
 * zero missing, and one score per event.
 */
class ExactAtScaleITCase {
  @RegisterExtension
  static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
      new MiniClusterResourceConfiguration.Builder()
          .setNumberTaskManagers(1)
          .setNumberSlotsPerTaskManager(4)
          .build());

  @TempDir Path dir;

  static final int PARTITIONS = 4;
  static final int EVENTS = 2400;

  static Path spec(String name) throws Exception {
    return Path.of(ExactAtScaleITCase.class.getResource("/" + name).toURI());
  }

  ScoringConfig config(String name, int parallelism, String specFile, Map<String, String> extra)
      throws Exception {
    CompiledSpec spec = CompiledSpec.load(spec(specFile));
    Path model = TestModels.write(dir.resolve("model.json"), spec.spec().modelInputs(), -1.0, 1.0);
    Map<String, String> keys = TestingJob.config(name, model, PARTITIONS);
    keys.put("spec", spec(specFile).toString());
    keys.put("parallelism", Integer.toString(parallelism));
    keys.putAll(extra);
    return ScoringConfig.of(keys);
  }

  /** Cards spread over the partitions but {@code skip} (-1: none), in order of their name. */
  static List<String> cards(int n, int skip) {
    List<String> cards = new ArrayList<>();
    for (int i = 0; cards.size() < n; i++) {
      String c = "card-" + i;
      if (KeyPartitioner.partition(c, PARTITIONS) != skip) {
        cards.add(c);
      }
    }
    return cards;
  }

  /**
   * History: {@code n} events in event-time order over 40 cards and 7 merchants, a few seconds
   * apart (so the 2 s lag and the 1 m tiles matter), every sixth in the same millisecond as the one
   * before it.
   */
  static List<Transaction> history(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    List<String> cards = cards(40, -1);
    long t = System.currentTimeMillis() - Duration.ofDays(1).toMillis();
    List<Transaction> txs = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      if (i % 6 != 5) {
        t += r.nextInt(0, 4_000);
      }
      txs.add(TestingJob.tx(String.format("t%05d", i), cards.get(r.nextInt(cards.size())),
          "m" + r.nextInt(7), r.nextInt(1, 50_000), t));
    }
    return txs;
  }

  @ParameterizedTest(name = "parallelism {0}")
  @ValueSource(ints = {4, 3})
  void aCatchUpOverHistoryIsExactForEveryEntity(int parallelism) throws Exception {
    ScoringConfig config = config("catchup-p" + parallelism, parallelism,
        "exact-arrival-spec.yaml", Map.of());
    List<Transaction> txs = history(EVENTS, parallelism);
    produce(config, txs);
    runBounded(config);
    assertExact(config, txs);
  }

  @ParameterizedTest(name = "parallelism {0}")
  @ValueSource(ints = {4, 3})
  void eventsOutOfOrderPerCardWithinTheBoundAreExact(int parallelism) throws Exception {
    ScoringConfig config = config("disorder-p" + parallelism, parallelism,
        "exact-event-time-spec.yaml", Map.of("watermark.out-of-orderness", "3s"));
    // Each event up to 2.5 s earlier than its place in the stream: out of order per card and per
    // partition, within the 3 s bound.
    SplittableRandom r = new SplittableRandom(7 + parallelism);
    List<Transaction> txs = new ArrayList<>();
    for (Transaction t : history(EVENTS, 100 + parallelism)) {
      long shifted = t.getEventTime().toEpochMilli() - r.nextInt(0, 2_500);
      txs.add(Transaction.newBuilder(t).setEventTime(java.time.Instant.ofEpochMilli(shifted))
          .build());
    }
    assertThat(disorderPerCard(txs)).as("the stream is out of order per card").isPositive();
    produce(config, txs);
    runBounded(config);
    assertExact(config, txs);
  }

  @ParameterizedTest(name = "parallelism {0}")
  @ValueSource(ints = {4, 3})
  void aLiveStreamWithASlowAnIdlePartitionAndBurstsIsExact(int parallelism) throws Exception {
    ScoringConfig config = config("live-p" + parallelism, parallelism,
        "exact-arrival-spec.yaml", Map.of());
    int idle = 3;
    int slow = 2;
    List<String> cards = cards(30, idle);
    List<String> fast = cards.stream()
        .filter(c -> KeyPartitioner.partition(c, PARTITIONS) != slow).toList();
    List<String> slowCards = cards.stream()
        .filter(c -> KeyPartitioner.partition(c, PARTITIONS) == slow).toList();
    assertThat(slowCards).isNotEmpty();

    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(TestingJob.flink(dir));
    ScoringJob.defineWorkflow(env, config, CompiledSpec.load(config.specPath()),
        ScoringJob.source(env, config, null), Sinks.kafka(config));
    JobClient job = env.executeAsync("live, slow and idle partitions, bursts");
    List<Transaction> txs = new ArrayList<>();
    try (KafkaProducer<byte[], byte[]> producer = TestingKafka.producer()) {
      var serializer = TestingJob.txSerializer();
      SplittableRandom r = new SplittableRandom(parallelism);
      int n = 0;
      // Six bursts of 250 events on the fast partitions as fast as they go, a slow partition
      // with an event every 300 ms, a pause between bursts, partition 3 idle throughout.
      for (int burst = 0; burst < 6; burst++) {
        for (int i = 0; i < 250; i++) {
          txs.add(send(producer, serializer, config, String.format("l%05d", n++),
              fast.get(r.nextInt(fast.size())), r));
        }
        for (int i = 0; i < 3; i++) {
          txs.add(send(producer, serializer, config, String.format("l%05d", n++),
              slowCards.get(r.nextInt(slowCards.size())), r));
          producer.flush();
          TimeUnit.MILLISECONDS.sleep(300); // the slow partition's pace, not synchronisation
        }
      }
      producer.flush();
    }
    try {
      awaitCommittedFeatures(config, txs.size());
    } finally {
      job.cancel().get(30, TimeUnit.SECONDS);
    }
    assertExact(config, txs);
  }

  static Transaction send(KafkaProducer<byte[], byte[]> producer,
      dev.vigil.schemas.serde.AvroWireSerializer<Transaction> serializer, ScoringConfig config,
      String id, String card, SplittableRandom r) {
    Transaction t = TestingJob.tx(id, card, "m" + r.nextInt(7), r.nextInt(1, 50_000),
        System.currentTimeMillis());
    producer.send(new ProducerRecord<>(config.inputTopic(),
        card.getBytes(StandardCharsets.UTF_8), serializer.serialize(t)));
    return t;
  }

  /** The most an event trails an earlier event of its card, ms. */
  static long disorderPerCard(List<Transaction> txs) {
    Map<String, Long> newest = new HashMap<>();
    long worst = 0;
    for (Transaction t : txs) {
      long ts = t.getEventTime().toEpochMilli();
      Long n = newest.get(t.getCardId());
      if (n != null) {
        worst = Math.max(worst, n - ts);
      }
      newest.merge(t.getCardId(), ts, Math::max);
    }
    return worst;
  }

  static void produce(ScoringConfig config, List<Transaction> txs) {
    var serializer = TestingJob.txSerializer();
    try (KafkaProducer<byte[], byte[]> producer = TestingKafka.producer()) {
      for (Transaction t : txs) {
        producer.send(new ProducerRecord<>(config.inputTopic(),
            t.getCardId().getBytes(StandardCharsets.UTF_8), serializer.serialize(t)));
      }
      producer.flush();
    }
  }

  void runBounded(ScoringConfig config) throws Exception {
    StreamExecutionEnvironment env =
        StreamExecutionEnvironment.getExecutionEnvironment(TestingJob.flink(dir));
    ScoringJob.defineWorkflow(env, config, CompiledSpec.load(config.specPath()),
        ScoringJob.source(env, config, OffsetsInitializer.latest()), Sinks.kafka(config));
    env.execute("exact at scale: " + config.inputTopic());
  }

  /** Polls (deadline 90 s) until {@code n} feature vectors are committed. */
  static void awaitCommittedFeatures(ScoringConfig config, int n) throws Exception {
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    int seen = 0;
    while (System.nanoTime() < deadline) {
      seen = TestingKafka.readCommitted(config.featuresTopic()).size();
      if (seen >= n) {
        return;
      }
      TimeUnit.MILLISECONDS.sleep(200); // poll interval, not synchronisation
    }
    throw new AssertionError("only " + seen + " of " + n + " feature vectors within 90 s");
  }

  /**
   * Every event scored once, and its feature vector equal to the offline evaluation, feature by
   * feature; the mismatches counted per feature, the first few named.
   */
  static void assertExact(ScoringConfig config, List<Transaction> txs) throws Exception {
    CompiledSpec spec = CompiledSpec.load(config.specPath());
    List<String> ids = new ArrayList<>();
    for (var r : TestingKafka.readCommitted(config.scoresTopic())) {
      ids.add(new String(r.key(), StandardCharsets.UTF_8));
    }
    assertThat(ids).as("one score per event").hasSize(txs.size()).doesNotHaveDuplicates();
    assertThat(TestingKafka.readCommitted(config.deadLettersTopic())).isEmpty();

    Map<String, FeatureVector> vectors = new HashMap<>();
    for (var r : TestingKafka.readCommitted(config.featuresTopic())) {
      FeatureVector v = TestingJob.features(r);
      assertThat(vectors.put(v.getTransactionId(), v)).as("one vector per id").isNull();
    }
    List<Transaction> sorted = new ArrayList<>(txs);
    sorted.sort(Comparator.comparing(Transaction::getEventTime));
    PointInTimeEvaluator offline = new PointInTimeEvaluator(spec);
    List<String> names = spec.spec().featureNames();
    Map<String, Integer> mismatches = new TreeMap<>();
    List<String> examples = new ArrayList<>();
    int missing = 0;
    for (Transaction t : sorted) {
      FeatureRow expected = offline.process(t);
      FeatureVector v = vectors.get(t.getTransactionId());
      if (v == null) {
        missing++;
        continue;
      }
      for (int i = 0; i < names.size(); i++) {
        Object got = v.getFeatures().get(names.get(i));
        Object want = expected.values()[i];
        if (!java.util.Objects.equals(got, want)) {
          mismatches.merge(names.get(i), 1, Integer::sum);
          if (examples.size() < 5) {
            examples.add(t.getTransactionId() + " " + names.get(i) + ": streamed " + got
                + ", offline " + want);
          }
        }
      }
    }
    assertThat(missing).as("events without a feature vector").isZero();
    assertThat(mismatches).as("mismatches per feature, e.g. %s", examples).isEmpty();
  }
}
