package dev.vigil.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.infra.tls.TestCertificates;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.SslAuthenticationException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The broker listening only on SASL_SSL (SCRAM, PLAIN) or only on mutual TLS. */
class SecureKafkaBrokerITCase {
  @TempDir Path dir;

  @Test
  void saslSslOnlyServesScramAndPlainUsersAndRefusesAWrongPasswordOrPlaintext() throws Exception {
    TestCertificates certs = TestCertificates.generate(dir);
    String password = TestCertificates.randomPassword();
    try (KafkaBroker broker = KafkaBroker.start(
        KafkaBroker.Security.saslSsl(certs, Map.of("alice", password)))) {
      broker.createTopic("secure", 2);
      Map<String, Object> alice = broker.clientProperties("alice", password);
      // transactional: the coordinator's markers go over the inter-broker SASL_SSL listener
      produceTransactionally(broker, alice, "secure", List.of("a", "b", "c"));
      assertThat(readCommitted(broker, alice, "secure", 3)).containsExactlyInAnyOrder("a", "b", "c");

      Map<String, Object> plain = new HashMap<>(alice);
      plain.put("sasl.mechanism", "PLAIN");
      plain.put("sasl.jaas.config", "org.apache.kafka.common.security.plain.PlainLoginModule"
          + " required username=\"alice\" password=\"" + password + "\";");
      assertThat(readCommitted(broker, plain, "secure", 3)).hasSize(3);

      Map<String, Object> wrong = broker.clientProperties("alice", "not-" + password);
      assertThatThrownBy(() -> describe(broker, wrong))
          .hasRootCauseInstanceOf(SaslAuthenticationException.class)
          .rootCause().hasMessageContaining("Authentication failed");
      Map<String, Object> plaintext = Map.of("default.api.timeout.ms", 3_000,
          "request.timeout.ms", 2_000);
      assertThatThrownBy(() -> describe(broker, plaintext)).isInstanceOf(ExecutionException.class);
    }
  }

  @Test
  void mutualTlsServesAClientWithACertificateAndRefusesOneWithout() throws Exception {
    TestCertificates certs = TestCertificates.generate(dir);
    try (KafkaBroker broker = KafkaBroker.start(KafkaBroker.Security.mutualTls(certs))) {
      broker.createTopic("mtls", 1);
      Map<String, Object> client = broker.clientProperties(null, null);
      produceTransactionally(broker, client, "mtls", List.of("x"));
      assertThat(readCommitted(broker, client, "mtls", 1)).containsExactly("x");
      Map<String, Object> noCertificate = new HashMap<>(client);
      noCertificate.keySet().removeIf(k -> k.startsWith("ssl.key"));
      assertThatThrownBy(() -> describe(broker, noCertificate))
          .hasRootCauseInstanceOf(javax.net.ssl.SSLException.class)
          .satisfies(e -> assertThat(e).hasCauseInstanceOf(SslAuthenticationException.class));
    }
  }

  static void describe(KafkaBroker broker, Map<String, Object> security) throws Exception {
    Map<String, Object> c = new HashMap<>(security);
    c.put("bootstrap.servers", broker.bootstrapServers());
    c.putIfAbsent("request.timeout.ms", 10_000);
    c.putIfAbsent("default.api.timeout.ms", 15_000);
    try (Admin admin = Admin.create(c)) {
      admin.describeCluster().nodes().get();
    }
  }

  static void produceTransactionally(KafkaBroker broker, Map<String, Object> security,
      String topic, List<String> values) {
    Map<String, Object> c = new HashMap<>(security);
    c.put("bootstrap.servers", broker.bootstrapServers());
    c.put("transactional.id", "t-" + UUID.randomUUID());
    try (KafkaProducer<String, String> p =
        new KafkaProducer<>(c, new StringSerializer(), new StringSerializer())) {
      p.initTransactions();
      p.beginTransaction();
      values.forEach(v -> p.send(new ProducerRecord<>(topic, v)));
      p.commitTransaction();
    }
  }

  static List<String> readCommitted(KafkaBroker broker, Map<String, Object> security,
      String topic, int expected) {
    Map<String, Object> c = new HashMap<>(security);
    c.put("bootstrap.servers", broker.bootstrapServers());
    c.put("group.id", "g-" + UUID.randomUUID());
    c.put("auto.offset.reset", "earliest");
    c.put("isolation.level", "read_committed");
    List<String> out = new ArrayList<>();
    try (KafkaConsumer<String, String> consumer =
        new KafkaConsumer<>(c, new StringDeserializer(), new StringDeserializer())) {
      consumer.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (out.size() < expected && System.nanoTime() < deadline) {
        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
          out.add(r.value());
        }
      }
    }
    return out;
  }
}
