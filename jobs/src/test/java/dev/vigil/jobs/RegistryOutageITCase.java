package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Score;
import dev.vigil.avro.Transaction;
import dev.vigil.infra.Ports;
import dev.vigil.infra.registry.ApicurioRegistry;
import dev.vigil.schemas.registry.SchemaRegistryClient;
import dev.vigil.schemas.serde.AvroWireDeserializer;
import dev.vigil.schemas.serde.AvroWireSerializer;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.io.KeyPartitioner;
import dev.vigil.transforms.offline.PointInTimeEvaluator;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.LongSupplier;
import org.apache.flink.api.common.JobID;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.runtime.testutils.InMemoryReporter;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * A schema-registry outage at a cold start (issue 15, point 2): a real Apicurio registry (its
 * schemas in files, so it comes back on the same port with the same ids) is stopped, a new job
 * starts with nothing cached while records flow into 4 partitions (parallelism 2), and the
 * registry stays down for 30 s before it is started again. No valid record is dead-lettered: every
 * one is scored exactly once (read_committed), the one record with an id the registry does not
 * know is the only dead letter ({@code unknown_schema_id}), the features equal the offline
 * evaluation (the records were held back, not made late), the job never restarted, the
 * hold-back metrics moved while the registry was down, and each subtask logged the outage once.
 */
class RegistryOutageITCase {
  static final InMemoryReporter REPORTER = InMemoryReporter.createWithRetainedMetrics();

  @RegisterExtension
  static final MiniClusterExtension CLUSTER = new MiniClusterExtension(
      new MiniClusterResourceConfiguration.Builder()
          .setConfiguration(REPORTER.addToConfiguration(new Configuration()))
          .setNumberTaskManagers(1)
          .setNumberSlotsPerTaskManager(2)
          .build());

  static final Duration OUTAGE = Duration.ofSeconds(30);
  static final int EVENTS = 200;
  static final int PARTITIONS = 4;
  static final int UNKNOWN_ID = 987_654;

  @TempDir Path dir;

  @Test
  void aRegistryDownFor30sAtAColdStartHoldsRecordsBackAndEveryValidRecordIsScoredOnce()
      throws Exception {
    AtomicReference<ApicurioRegistry> registry = new AtomicReference<>(
        ApicurioRegistry.start(Ports.free(), dir.resolve("registry")));
    // Ctrl-C runs shutdown hooks, not finally blocks: the registry process is stopped either way.
    Thread stopRegistry = new Thread(() -> registry.get().close(), "outage-registry-stop");
    Runtime.getRuntime().addShutdownHook(stopRegistry);
    JobClient job = null;
    try (CapturedLogs logs = CapturedLogs.capture()) {
      CompiledSpec spec = TestingJob.spec();
      Path model = TestModels.write(dir.resolve("model.json"), spec.spec().modelInputs(), -1.0,
          1.0);
      Map<String, String> keys = TestingJob.config("outage", model, PARTITIONS);
      keys.put("registry.url", registry.get().confluentApiUrl());
      keys.put("transaction.timeout", "3m");
      keys.put("registry.outage.fail-after", "2m"); // well above the outage: no restart
      keys.put("registry.retry.max-backoff", "2s"); // the job sees the registry back soon
      ScoringConfig config = ScoringConfig.of(keys);

      // The producer registers the schema while the registry is up; its id must stay valid.
      List<Transaction> txs = events();
      List<byte[]> recordKeys = new ArrayList<>();
      List<byte[]> values = new ArrayList<>();
      var serializer = AvroWireSerializer.forSpecific(
          SchemaRegistryClient.of(registry.get().confluentApiUrl()), TestingJob.SUBJECT,
          Transaction.class);
      for (Transaction t : txs) {
        recordKeys.add(t.getCardId().getBytes(StandardCharsets.UTF_8));
        values.add(serializer.serialize(t));
      }
      byte[] unknown = values.get(0).clone();
      ByteBuffer.wrap(unknown, 1, 4).putInt(UNKNOWN_ID);
      int half = EVENTS / 2;
      recordKeys.add(half, "c0".getBytes(StandardCharsets.UTF_8));
      values.add(half, unknown);
      Map<TopicPartition, Long> ends = new HashMap<>();
      for (int p = 0; p < PARTITIONS; p++) {
        ends.put(new TopicPartition(config.inputTopic(), p), 0L);
      }
      for (byte[] k : recordKeys) {
        ends.merge(new TopicPartition(config.inputTopic(), KeyPartitioner.partition(
            new String(k, StandardCharsets.UTF_8), PARTITIONS)), 1L, Long::sum);
      }

      registry.get().close();
      long down = System.nanoTime();
      TestingKafka.produce(config.inputTopic(), recordKeys.subList(0, half),
          values.subList(0, half));
      StreamExecutionEnvironment env =
          StreamExecutionEnvironment.getExecutionEnvironment(TestingJob.flink(dir));
      ScoringJob.defineWorkflow(env, config, spec,
          ScoringJob.source(env, config, OffsetsInitializer.offsets(ends)), Sinks.kafka(config));
      job = env.executeAsync("registry outage at a cold start");
      JobID id = job.getJobID();
      // Records keep flowing while the registry is down.
      TestingKafka.produce(config.inputTopic(), recordKeys.subList(half, recordKeys.size()),
          values.subList(half, values.size()));

      awaitAtLeast("a record held back by every source subtask", Duration.ofSeconds(90),
          2, () -> sum(id, "deserializer.vigil.registry.held_back"));
      assertThat(TestingKafka.readCommitted(config.scoresTopic()))
          .as("nothing scored while the registry is down").isEmpty();
      assertThat(TestingKafka.readCommitted(config.deadLettersTopic()))
          .as("nothing dead-lettered while the registry is down").isEmpty();
      long left = OUTAGE.toNanos() - (System.nanoTime() - down);
      if (left > 0) {
        TimeUnit.NANOSECONDS.sleep(left); // the fault itself: the registry stays down this long
      }
      long retriesWhileDown = sum(id, "vigil.registry.retries");
      registry.set(registry.get().restart()); // same port, same files: the same ids
      job.getJobExecutionResult().get(3, TimeUnit.MINUTES);

      SchemaRegistryClient client = SchemaRegistryClient.of(registry.get().confluentApiUrl());
      List<String> scored = new ArrayList<>();
      for (var r : TestingKafka.readCommitted(config.scoresTopic())) {
        scored.add(AvroWireDeserializer.forSpecific(client, Score.class).deserialize(r.value())
            .getTransactionId());
      }
      assertThat(scored).as("every valid record scored exactly once").hasSize(EVENTS)
          .doesNotHaveDuplicates()
          .containsExactlyInAnyOrderElementsOf(txs.stream().map(Transaction::getTransactionId)
              .toList());
      // Held back, not late: the features equal the offline evaluation of the same input.
      Map<String, Map<String, Object>> vectors = new HashMap<>();
      for (var r : TestingKafka.readCommitted(config.featuresTopic())) {
        var v = AvroWireDeserializer.forSpecific(client, FeatureVector.class)
            .deserialize(r.value());
        vectors.put(v.getTransactionId(), v.getFeatures());
      }
      PointInTimeEvaluator offline = new PointInTimeEvaluator(spec);
      List<String> names = spec.spec().featureNames();
      for (Transaction t : txs) { // in event-time order already
        FeatureRow expected = offline.process(t);
        Map<String, Object> want = new HashMap<>();
        for (int i = 0; i < names.size(); i++) {
          want.put(names.get(i), expected.values()[i]);
        }
        assertThat(vectors.get(t.getTransactionId())).as("features of %s", t.getTransactionId())
            .isEqualTo(want);
      }
      var dead = TestingKafka.readCommitted(config.deadLettersTopic());
      assertThat(dead).as("only the record the registry does not know").hasSize(1);
      assertThat(TestingJob.header(dead.get(0), DeadLetters.H_REASON))
          .isEqualTo(DeadLetters.UNKNOWN_SCHEMA_ID);
      assertThat(TestingJob.header(dead.get(0), DeadLetters.H_SCHEMA_ID))
          .isEqualTo(String.valueOf(UNKNOWN_ID));

      assertThat(retriesWhileDown).as("vigil.registry.retries while the registry was down")
          .isGreaterThan(0);
      assertThat(sum(id, "vigil.registry.waited_ms")).as("vigil.registry.waited_ms")
          .isGreaterThanOrEqualTo(Duration.ofSeconds(10).toMillis());
      assertThat(sum(id, "deserializer.vigil.registry.held_back")).as("nothing held back at the end")
          .isZero();
      assertThat(metrics(id, "numRestarts")).as("the job's numRestarts").isNotEmpty();
      assertThat(sum(id, "numRestarts")).as("held back, never failed over").isZero();
      String text = logs.text();
      assertThat(count(text, "unreachable (")).as("WARN lines: once per subtask, not per record")
          .isBetween(1, 2);
      assertThat(count(text, "answers again after")).as("INFO lines when it is back")
          .isBetween(1, 2);
      job = null;
    } finally {
      if (job != null) {
        try {
          job.cancel().get(30, TimeUnit.SECONDS);
        } catch (Exception finishedOrGone) {
          // the job ended on its own (the failure above says why)
        }
      }
      registry.get().close();
      Runtime.getRuntime().removeShutdownHook(stopRegistry);
    }
  }

  /** In-order events of 6 cards at 3 merchants, 20 s apart, two days ago. */
  static List<Transaction> events() {
    SplittableRandom random = new SplittableRandom(15);
    long base = System.currentTimeMillis() / 60_000 * 60_000 - Duration.ofDays(2).toMillis();
    List<Transaction> txs = new ArrayList<>();
    for (int i = 0; i < EVENTS; i++) {
      txs.add(TestingJob.tx(String.format("o%04d", i), "c" + random.nextInt(6),
          "m" + random.nextInt(3), random.nextInt(1, 50_000), base + i * 20_000L));
    }
    return txs;
  }

  /** The metrics of {@code job} named {@code ...suffix}, one per subtask (or job). */
  static List<Metric> metrics(JobID job, String suffix) {
    // by group: getMetricsByIdentifiers refuses Flink's own duplicate identifiers
    List<Metric> found = new ArrayList<>();
    REPORTER.getMetricsByGroup().forEach((group, byName) -> {
      if (job.toString().equals(group.getAllVariables().get("<job_id>"))) {
        byName.forEach((name, metric) -> {
          if (group.getMetricIdentifier(name).endsWith("." + suffix)) {
            found.add(metric);
          }
        });
      }
    });
    return found;
  }

  /** The sum of {@link #metrics} (counters or gauges). */
  static long sum(JobID job, String suffix) {
    long total = 0;
    for (Metric m : metrics(job, suffix)) {
      total += m instanceof Counter c ? c.getCount()
          : ((Number) ((Gauge<?>) m).getValue()).longValue();
    }
    return total;
  }

  static void awaitAtLeast(String what, Duration timeout, long want, LongSupplier value)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long seen = value.getAsLong();
    while (seen < want) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError(what + ": " + seen + " of " + want + " within " + timeout);
      }
      TimeUnit.MILLISECONDS.sleep(100); // poll interval, not synchronisation
      seen = value.getAsLong();
    }
  }

  static int count(String text, String needle) {
    int n = 0;
    for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + 1)) {
      n++;
    }
    return n;
  }
}
