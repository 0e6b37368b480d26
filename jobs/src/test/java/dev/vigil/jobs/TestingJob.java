package dev.vigil.jobs;

import dev.vigil.avro.Channel;
import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Score;
import dev.vigil.avro.Transaction;
import dev.vigil.schemas.registry.SchemaRegistryClient;
import dev.vigil.schemas.serde.AvroWireDeserializer;
import dev.vigil.schemas.serde.AvroWireSerializer;
import dev.vigil.infra.registry.ApicurioRegistry;
import dev.vigil.transforms.spec.CompiledSpec;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/** The pieces every scoring-job ITCase needs: config, spec, Transactions in and Scores out. */
final class TestingJob {
  private TestingJob() {}

  static final String SUBJECT = "payments.transactions-value";

  static MiniClusterExtension cluster() {
    return new MiniClusterExtension(new MiniClusterResourceConfiguration.Builder()
        .setNumberTaskManagers(1)
        .setNumberSlotsPerTaskManager(2)
        .build());
  }

  static Path specFile() {
    try {
      return Path.of(TestingJob.class.getResource("/scoring-spec.yaml").toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  static CompiledSpec spec() throws Exception {
    return CompiledSpec.load(specFile());
  }

  static SchemaRegistryClient registry() {
    return SchemaRegistryClient.of(ApicurioRegistry.shared().confluentApiUrl());
  }

  /** Config keys of a test run with topics named after {@code name} (created here). */
  static Map<String, String> config(String name, Path model, int inputPartitions) {
    TestingKafka.broker().createTopic(name + ".in", inputPartitions);
    TestingKafka.broker().createTopic(name + ".scores", 1);
    TestingKafka.broker().createTopic(name + ".features", 1);
    TestingKafka.broker().createTopic(name + ".dead", 1);
    Map<String, String> c = new HashMap<>();
    c.put("bootstrap.servers", TestingKafka.broker().bootstrapServers());
    c.put("registry.url", ApicurioRegistry.shared().confluentApiUrl());
    c.put("input.topic", name + ".in");
    c.put("scores.topic", name + ".scores");
    c.put("features.topic", name + ".features");
    c.put("dead-letters.topic", name + ".dead");
    c.put("group.id", name);
    c.put("transactional.id.prefix", name);
    c.put("spec", specFile().toString());
    c.put("model", model.toString());
    c.put("parallelism", "2");
    c.put("checkpoint.interval", "500ms");
    c.put("transaction.timeout", "1m");
    // a short timeout (a killed test's open transactions do not hold back read_committed readers
    // for long), so a checkpoint timeout and recovery budget that fit under it
    c.put("checkpoint.timeout", "8s"); // x 6 tolerated failures < 1m
    c.put("recovery.budget", "30s");
    c.put("state.empty-start", "allow"); // tests start without a bootstrap savepoint
    c.put("starting.offsets", "earliest");
    c.put("model.poll.interval", "100ms");
    return c;
  }

  /** RocksDB, checkpoints under {@code dir}, a fixed-delay restart strategy. */
  static Configuration flink(Path dir) {
    Configuration c = new Configuration();
    c.setString("state.backend.type", "rocksdb");
    c.setString("execution.checkpointing.dir", dir.resolve("checkpoints").toUri().toString());
    c.setString("execution.checkpointing.savepoint-dir", dir.resolve("savepoints").toUri().toString());
    c.setString("restart-strategy.type", "fixed-delay");
    c.setString("restart-strategy.fixed-delay.attempts", "10");
    c.setString("restart-strategy.fixed-delay.delay", "200 ms");
    return c;
  }

  static Transaction tx(String id, String card, String merchant, long amount, long time) {
    return Transaction.newBuilder()
        .setTransactionId(id)
        .setCardId(card)
        .setMerchantId(merchant)
        .setAmountCents(amount)
        .setCurrency("EUR")
        .setEventTime(Instant.ofEpochMilli(time))
        .setChannel(Channel.POS)
        .setDeviceId(null)
        .setCountry("FR")
        .build();
  }

  static AvroWireSerializer<Transaction> txSerializer() {
    return AvroWireSerializer.forSpecific(registry(), SUBJECT, Transaction.class);
  }

  static Score score(ConsumerRecord<byte[], byte[]> r) throws Exception {
    return AvroWireDeserializer.forSpecific(registry(), Score.class).deserialize(r.value());
  }

  static FeatureVector features(ConsumerRecord<byte[], byte[]> r) throws Exception {
    return AvroWireDeserializer.forSpecific(registry(), FeatureVector.class).deserialize(r.value());
  }

  static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    var h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8);
  }

  /** Starts the scoring job of {@code config} on its Kafka source, unbounded, on {@code flink}. */
  static org.apache.flink.core.execution.JobClient start(ScoringConfig config, CompiledSpec spec,
      Configuration flink, String name) throws Exception {
    var env = org.apache.flink.streaming.api.environment.StreamExecutionEnvironment
        .getExecutionEnvironment(flink);
    ScoringJob.defineWorkflow(env, config, spec, ScoringJob.source(env, config, null),
        Sinks.kafka(config));
    return env.executeAsync(name);
  }

  /**
   * Produces transactions {@code from} .. {@code from + n - 1} (ids {@code <prefix><4 digits>}, 5
   * cards, 3 merchants, a minute apart from a day ago) keyed by card.
   */
  static void produceTransactions(ScoringConfig config, String prefix, int from, int n) {
    var serializer = txSerializer();
    java.util.List<byte[]> keys = new java.util.ArrayList<>();
    java.util.List<byte[]> values = new java.util.ArrayList<>();
    long base = System.currentTimeMillis() / 60_000 * 60_000 - 86_400_000L;
    for (int k = from; k < from + n; k++) {
      Transaction t = tx(String.format("%s%04d", prefix, k), "c" + k % 5, "m" + k % 3, 100 + k,
          base + k * 60_000L);
      keys.add(t.getCardId().getBytes(java.nio.charset.StandardCharsets.UTF_8));
      values.add(serializer.serialize(t));
    }
    TestingKafka.produce(config.inputTopic(), keys, values);
  }
}
