package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.avro.Transaction;
import dev.vigil.infra.kafka.KafkaBroker;
import dev.vigil.infra.registry.ApicurioRegistry;
import dev.vigil.infra.tls.TestCertificates;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scoring job against a broker that listens only on SASL_SSL (certificates made by the test,
 * SCRAM-SHA-512 users), configured the way production is: {@code kafka.*} properties with the
 * password and the truststore password as {@code ${file:…}} references (mounted secrets),
 * resolved by the Kafka clients when they are created. Input: 4 partitions at parallelism 2.
 */
class SecureKafkaITCase {
  @RegisterExtension static final MiniClusterExtension CLUSTER = TestingJob.cluster();
  @TempDir static Path dir;

  static final int VALID = 200;
  static final int NOT_FRAMED = 12;
  static final int NEGATIVE = 8;

  static KafkaBroker broker;
  static Thread stopOnExit;
  static String password;
  static Map<String, Object> client;

  @BeforeAll
  static void startBroker() {
    TestCertificates certs = TestCertificates.generate(dir);
    password = TestCertificates.randomPassword();
    broker = KafkaBroker.start(KafkaBroker.Security.saslSsl(certs, Map.of("vigil", password)));
    // Ctrl-C: the broker's threads die with the JVM, the hook removes its log directory
    stopOnExit = new Thread(broker::close, "secure-kafka-stop");
    Runtime.getRuntime().addShutdownHook(stopOnExit);
    client = broker.clientProperties("vigil", password);
  }

  @AfterAll
  static void stopBroker() {
    if (broker != null) {
      Runtime.getRuntime().removeShutdownHook(stopOnExit);
      broker.close();
    }
  }

  @Test
  void scoresAndDeadLettersFlowOverSaslSslWithScramAndNoSecretIsLogged() throws Exception {
    CompiledSpec spec = TestingJob.spec();
    Path model = TestModels.write(dir.resolve("model.json"), spec.spec().modelInputs(), -1.0, 1.0);
    ScoringConfig config = ScoringConfig.of(config("sasl", model, password));
    assertThat(config.toString()).doesNotContain(password);

    // 5 s apart: all within the spec's 1 h windows, so the partition interleaving of a
    // merchant's events (4 partitions keyed by card) never makes one late
    List<Transaction> txs = ExactlyOnceITCase.events(VALID, 40, 5, 5_000);
    var serializer = TestingJob.txSerializer();
    List<byte[]> keys = new ArrayList<>();
    List<byte[]> values = new ArrayList<>();
    for (Transaction t : txs) {
      keys.add(t.getCardId().getBytes(StandardCharsets.UTF_8));
      values.add(serializer.serialize(t));
    }
    for (int i = 0; i < NOT_FRAMED; i++) {
      keys.add(("bad" + i).getBytes(StandardCharsets.UTF_8));
      values.add(("not framed " + i).getBytes(StandardCharsets.UTF_8));
    }
    long now = System.currentTimeMillis();
    for (int i = 0; i < NEGATIVE; i++) {
      Transaction t = TestingJob.tx("neg" + i, "c" + i, "m0", -100, now - 60_000 + i);
      keys.add(t.getCardId().getBytes(StandardCharsets.UTF_8));
      values.add(serializer.serialize(t));
    }
    Map<Integer, Long> ends = produce(config.inputTopic(), keys, values);
    assertThat(ends).as("records in every input partition").hasSize(4);

    try (CapturedLogs logs = CapturedLogs.capture()) {
      KafkaPreflight.check(config, Duration.ofSeconds(30));
      StreamExecutionEnvironment env =
          StreamExecutionEnvironment.getExecutionEnvironment(TestingJob.flink(dir.resolve("ok")));
      ScoringJob.defineWorkflow(env, config, spec,
          ScoringJob.source(env, config, OffsetsInitializer.latest()), Sinks.kafka(config));
      env.executeAsync("scoring over SASL_SSL").getJobExecutionResult()
          .get(3, TimeUnit.MINUTES);

      Set<String> scored = new HashSet<>();
      List<ConsumerRecord<byte[], byte[]>> scores = readCommitted(config.scoresTopic());
      for (var r : scores) {
        scored.add(TestingJob.score(r).getTransactionId());
      }
      List<ConsumerRecord<byte[], byte[]>> dead = readCommitted(config.deadLettersTopic());
      Map<String, Integer> reasons = new HashMap<>();
      dead.forEach(r -> reasons.merge(TestingJob.header(r, "vigil.reason"), 1, Integer::sum));
      System.out.printf("SASL_SSL run: %d in, %d scored, %d dead letters %s, %d log lines%n",
          values.size(), scores.size(), dead.size(), reasons, logs.size());

      assertThat(scores).as("one score per valid record").hasSize(VALID);
      assertThat(scored).containsExactlyInAnyOrderElementsOf(
          txs.stream().map(Transaction::getTransactionId).toList());
      assertThat(reasons).isEqualTo(Map.of("not_framed", NOT_FRAMED, "negative_amount", NEGATIVE));
      assertThat(scores.size() + dead.size()).as("records in = scored + dead letters")
          .isEqualTo(values.size());
      assertThat(readCommitted(config.featuresTopic())).hasSize(VALID);

      assertThat(logs.text()).as("Kafka's configuration dumps are in the captured logs")
          .contains("sasl.jaas.config = [hidden]");
      assertThat(logs.text()).doesNotContain(password)
          .doesNotContain(broker.clientProperties("x", "x").get("ssl.truststore.password")
              .toString());
    }
  }

  @Test
  void aWrongPasswordFailsAtStartWithAClearMessageThatHoldsNoSecret() throws Exception {
    CompiledSpec spec = TestingJob.spec();
    Path model = TestModels.write(dir.resolve("model-wrong.json"), spec.spec().modelInputs(), -1.0,
        1.0);
    String wrong = TestCertificates.randomPassword();
    ScoringConfig config = ScoringConfig.of(config("wrong", model, wrong));

    try (CapturedLogs logs = CapturedLogs.capture()) {
      // before submission: what ScoringJob.main runs
      long t0 = System.nanoTime();
      assertThatThrownBy(() -> KafkaPreflight.check(config, Duration.ofSeconds(30)))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("cannot use Kafka at " + broker.bootstrapServers()
              + " as the source (kafka.*, source.kafka.*)")
          .hasMessageContaining("SaslAuthenticationException: Authentication failed during"
              + " authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512")
          .hasMessageContaining("as the sinks (kafka.*, sink.kafka.*)")
          .satisfies(e -> assertThat(e.getMessage()).doesNotContain(wrong).doesNotContain(password));
      double preflightSeconds = (System.nanoTime() - t0) / 1e9;

      // and a job submitted anyway (no restarts) fails fast for the same reason
      Configuration flink = TestingJob.flink(dir.resolve("wrong"));
      flink.setString("restart-strategy.type", "none");
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
      ScoringJob.defineWorkflow(env, config, spec,
          ScoringJob.source(env, config, OffsetsInitializer.latest()), Sinks.kafka(config));
      long t1 = System.nanoTime();
      var result = env.executeAsync("scoring with a wrong password").getJobExecutionResult();
      Throwable failure = null;
      try {
        result.get(2, TimeUnit.MINUTES);
      } catch (ExecutionException e) {
        failure = e;
      }
      double jobSeconds = (System.nanoTime() - t1) / 1e9;
      System.out.printf("wrong password: preflight failed in %.1f s, the job in %.1f s%n",
          preflightSeconds, jobSeconds);
      assertThat(failure).as("the job fails").isNotNull();
      StringBuilder chain = new StringBuilder();
      for (Throwable t = failure; t != null; t = t.getCause()) {
        chain.append(t).append('\n');
      }
      assertThat(chain.toString()).contains("Authentication failed during authentication due to"
          + " invalid credentials with SASL mechanism SCRAM-SHA-512")
          .doesNotContain(wrong).doesNotContain(password);
      assertThat(logs.text()).contains("invalid credentials").doesNotContain(wrong)
          .doesNotContain(password);
    }
  }

  @Test
  void scoresFlowOverMutualTlsWithTheClientCertificateAsTheIdentity() throws Exception {
    Path certsDir = Files.createDirectories(dir.resolve("mtls"));
    TestCertificates certs = TestCertificates.generate(certsDir);
    try (KafkaBroker mtls = KafkaBroker.start(KafkaBroker.Security.mutualTls(certs))) {
      CompiledSpec spec = TestingJob.spec();
      Path model = TestModels.write(dir.resolve("model-mtls.json"), spec.spec().modelInputs(),
          -1.0, 1.0);
      Path storePassword = Files.writeString(certsDir.resolve("store-password"),
          certs.password());
      Map<String, String> keys = common(mtls, "mtls", model);
      keys.put("kafka.security.protocol", "SSL");
      keys.put("kafka.ssl.truststore.location", certs.truststore().toString());
      keys.put("kafka.ssl.truststore.type", "PKCS12");
      keys.put("kafka.ssl.truststore.password", "${file:" + storePassword + "}");
      keys.put("kafka.ssl.keystore.location", certs.clientKeystore().toString());
      keys.put("kafka.ssl.keystore.type", "PKCS12");
      keys.put("kafka.ssl.keystore.password", "${file:" + storePassword + "}");
      keys.put("kafka.ssl.key.password", "${file:" + storePassword + "}");
      ScoringConfig config = ScoringConfig.of(keys);
      Map<String, Object> mtlsClient = mtls.clientProperties(null, null);

      List<Transaction> txs = ExactlyOnceITCase.events(60, 10, 3, 5_000);
      var serializer = TestingJob.txSerializer();
      List<byte[]> k = new ArrayList<>();
      List<byte[]> v = new ArrayList<>();
      for (Transaction t : txs) {
        k.add(t.getCardId().getBytes(StandardCharsets.UTF_8));
        v.add(serializer.serialize(t));
      }
      k.add(null);
      v.add("not framed".getBytes(StandardCharsets.UTF_8));
      produce(mtls, mtlsClient, config.inputTopic(), k, v);

      try (CapturedLogs logs = CapturedLogs.capture()) {
        KafkaPreflight.check(config, Duration.ofSeconds(30));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
            TestingJob.flink(dir.resolve("mtls-run")));
        ScoringJob.defineWorkflow(env, config, spec,
            ScoringJob.source(env, config, OffsetsInitializer.latest()), Sinks.kafka(config));
        env.executeAsync("scoring over mutual TLS").getJobExecutionResult()
            .get(3, TimeUnit.MINUTES);
        int scores = readCommitted(mtls, mtlsClient, config.scoresTopic()).size();
        int dead = readCommitted(mtls, mtlsClient, config.deadLettersTopic()).size();
        System.out.printf("mutual TLS run: %d in, %d scored, %d dead letters%n", v.size(), scores,
            dead);
        assertThat(scores).isEqualTo(txs.size());
        assertThat(dead).isEqualTo(1);
        assertThat(logs.text()).doesNotContain(certs.password());
      }
    }
  }

  /**
   * The job's keys for topics named after {@code name} (created here): Kafka security as
   * production gives it, the SCRAM password and the truststore password from files.
   */
  static Map<String, String> config(String name, Path model, String kafkaPassword)
      throws Exception {
    Map<String, String> c = common(broker, name, model);
    Path secrets = Files.createDirectories(dir.resolve("secrets-" + name));
    Path passwordFile = Files.writeString(secrets.resolve("password"), kafkaPassword + "\n");
    Path truststorePassword = Files.writeString(secrets.resolve("truststore-password"),
        client.get("ssl.truststore.password") + "\n");
    c.put("kafka.security.protocol", "SASL_SSL");
    c.put("kafka.sasl.mechanism", "SCRAM-SHA-512");
    c.put("kafka.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule"
        + " required username=\"vigil\" password=\"${file:" + passwordFile + "}\";");
    c.put("kafka.ssl.truststore.location", client.get("ssl.truststore.location").toString());
    c.put("kafka.ssl.truststore.type", "PKCS12");
    c.put("kafka.ssl.truststore.password", "${file:" + truststorePassword + "}");
    return c;
  }

  /** The keys of every run on {@code broker}, topics named after {@code name} (created here). */
  static Map<String, String> common(KafkaBroker broker, String name, Path model) {
    broker.createTopic(name + ".in", 4);
    broker.createTopic(name + ".scores", 1);
    broker.createTopic(name + ".features", 1);
    broker.createTopic(name + ".dead", 1);
    Map<String, String> c = new HashMap<>();
    c.put("bootstrap.servers", broker.bootstrapServers());
    c.put("registry.url", ApicurioRegistry.shared().confluentApiUrl());
    c.put("input.topic", name + ".in");
    c.put("scores.topic", name + ".scores");
    c.put("features.topic", name + ".features");
    c.put("dead-letters.topic", name + ".dead");
    c.put("group.id", name);
    c.put("transactional.id.prefix", name);
    c.put("spec", TestingJob.specFile().toString());
    c.put("model", model.toString());
    c.put("parallelism", "2");
    c.put("checkpoint.interval", "500ms");
    c.put("transaction.timeout", "1m");
    // a short timeout (a killed test's open transactions do not hold back read_committed readers
    // for long), so a checkpoint timeout and recovery budget that fit under it
    c.put("checkpoint.timeout", "8s"); // x 6 tolerated failures < 1m
    c.put("recovery.budget", "30s");
    c.put("state.empty-start", "allow");
    c.put("starting.offsets", "earliest");
    c.put("model.poll.interval", "100ms");
    return c;
  }

  /** Sends every record (partition by key) as the SCRAM user; the end offset per partition. */
  static Map<Integer, Long> produce(String topic, List<byte[]> keys, List<byte[]> values)
      throws Exception {
    return produce(broker, client, topic, keys, values);
  }

  static Map<Integer, Long> produce(KafkaBroker broker, Map<String, Object> client, String topic,
      List<byte[]> keys, List<byte[]> values) throws Exception {
    Map<String, Object> p = new HashMap<>(client);
    p.put("bootstrap.servers", broker.bootstrapServers());
    p.put("acks", "all");
    Map<Integer, Long> ends = new HashMap<>();
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (int i = 0; i < values.size(); i++) {
        var m = producer.send(new ProducerRecord<>(topic, keys.get(i), values.get(i))).get();
        ends.merge(m.partition(), m.offset() + 1, Math::max);
      }
    }
    return ends;
  }

  /** Every committed record of {@code topic}, read as the SCRAM user. */
  static List<ConsumerRecord<byte[], byte[]>> readCommitted(String topic) {
    return readCommitted(broker, client, topic);
  }

  static List<ConsumerRecord<byte[], byte[]>> readCommitted(KafkaBroker broker,
      Map<String, Object> client, String topic) {
    Map<String, Object> c = new HashMap<>(client);
    c.put("bootstrap.servers", broker.bootstrapServers());
    c.put("isolation.level", "read_committed");
    c.put("enable.auto.commit", false);
    try (KafkaConsumer<byte[], byte[]> consumer =
        new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("could not read " + topic + " up to " + end + " in 30 s");
        }
        consumer.poll(Duration.ofMillis(200)).forEach(all::add);
      }
      return all;
    }
  }
}
