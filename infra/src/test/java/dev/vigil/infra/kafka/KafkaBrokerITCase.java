package dev.vigil.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A real single-node KRaft broker, started from the Kafka jars in this JVM. */
class KafkaBrokerITCase {
  static KafkaBroker broker;

  @BeforeAll
  static void start() {
    long t0 = System.nanoTime();
    broker = KafkaBroker.start();
    System.out.printf("kafka broker ready in %.1f s%n", (System.nanoTime() - t0) / 1e9);
  }

  @AfterAll
  static void stop() {
    broker.close();
  }

  KafkaProducer<String, String> producer(String transactionalId) {
    Map<String, Object> config = new java.util.HashMap<>(Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
        ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
        ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
    if (transactionalId != null) {
      config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, transactionalId);
    }
    return new KafkaProducer<>(config);
  }

  List<String> readAll(String topic, String isolation, int expected) {
    try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
        ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers(),
        ConsumerConfig.GROUP_ID_CONFIG, "g-" + UUID.randomUUID(),
        ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest",
        ConsumerConfig.ISOLATION_LEVEL_CONFIG, isolation,
        ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class))) {
      consumer.subscribe(List.of(topic));
      List<String> values = new ArrayList<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      int emptyPolls = 0;
      while (System.nanoTime() < deadline && (values.size() < expected || emptyPolls < 3)) {
        var records = consumer.poll(Duration.ofMillis(500));
        emptyPolls = records.isEmpty() ? emptyPolls + 1 : 0;
        for (ConsumerRecord<String, String> r : records) {
          values.add(r.value());
        }
      }
      return values;
    }
  }

  @Test
  void producesAndConsumesAcrossPartitions() throws Exception {
    broker.createTopic("plain", 2);
    try (KafkaProducer<String, String> p = producer(null)) {
      for (int i = 0; i < 10; i++) {
        p.send(new ProducerRecord<>("plain", "k" + i, "v" + i)).get();
      }
    }
    assertThat(readAll("plain", "read_uncommitted", 10)).hasSize(10)
        .containsExactlyInAnyOrder("v0", "v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8", "v9");
  }

  @Test
  void readCommittedSeesCommittedTransactionsOnly() {
    broker.createTopic("tx", 2);
    try (KafkaProducer<String, String> p = producer("vigil-it-" + UUID.randomUUID())) {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>("tx", "a", "committed-1"));
      p.send(new ProducerRecord<>("tx", "b", "committed-2"));
      p.commitTransaction();
      p.beginTransaction();
      p.send(new ProducerRecord<>("tx", "c", "aborted"));
      p.flush();
      p.abortTransaction();
    }
    assertThat(readAll("tx", "read_committed", 2)).containsExactlyInAnyOrder("committed-1", "committed-2");
    assertThat(readAll("tx", "read_uncommitted", 3)).contains("aborted");
  }

  @Test
  void aRestartKeepsThePortTheRecordsAndAnOpenTransaction() throws Exception {
    broker.createTopic("restart", 1);
    String bootstrap = broker.bootstrapServers();
    try (KafkaProducer<String, String> p = producer("vigil-it-" + UUID.randomUUID())) {
      p.initTransactions();
      p.beginTransaction();
      p.send(new ProducerRecord<>("restart", "a", "before")).get();
      p.commitTransaction();
      p.beginTransaction();
      p.send(new ProducerRecord<>("restart", "b", "across")).get();

      broker.stop();
      assertThat(broker.isRunning()).isFalse();
      broker.restart();

      assertThat(broker.bootstrapServers()).isEqualTo(bootstrap);
      p.commitTransaction(); // the transaction opened before the stop commits after it
    }
    assertThat(readAll("restart", "read_committed", 2)).containsExactly("before", "across");
  }

  @Test
  void aTakenPortFailsFastNamingIt() throws Exception {
    try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int port = taken.getLocalPort();
      assertThatThrownBy(() -> KafkaBroker.start(port))
          .isInstanceOf(IllegalStateException.class)
          .hasMessageContaining("port " + port)
          .hasMessageContaining("in use");
    }
  }
}
