package dev.vigil.jobs;

import dev.vigil.infra.kafka.KafkaBroker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** One real broker per test JVM, and the produce/consume helpers the job's tests use. */
final class TestingKafka {
  private static KafkaBroker broker;

  private TestingKafka() {}

  static synchronized KafkaBroker broker() {
    if (broker == null) {
      broker = KafkaBroker.start();
      KafkaBroker started = broker;
      Runtime.getRuntime().addShutdownHook(new Thread(started::close, "kafka-stop"));
    }
    return broker;
  }

  static KafkaProducer<byte[], byte[]> producer() {
    Map<String, Object> p = new HashMap<>();
    p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker().bootstrapServers());
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /** The header of each produced record with its index in the list produced. */
  static final String PRODUCED_INDEX = "test.produced-index";

  /** A produced record and where it landed. */
  record Produced(byte[] key, byte[] value, int partition, long offset) {}

  /** Sends {@code values} in order (key per record, may be null), waiting for each ack. */
  static List<Produced> produce(String topic, List<byte[]> keys, List<byte[]> values) {
    return produce(topic, null, keys, values);
  }

  /** As {@link #produce(String, List, List)}, to the given partition of each record (or by key). */
  static List<Produced> produce(String topic, List<Integer> partitions, List<byte[]> keys,
      List<byte[]> values) {
    List<Produced> out = new ArrayList<>();
    try (KafkaProducer<byte[], byte[]> producer = producer()) {
      for (int i = 0; i < values.size(); i++) {
        Integer partition = partitions == null ? null : partitions.get(i);
        ProducerRecord<byte[], byte[]> record =
            new ProducerRecord<>(topic, partition, keys.get(i), values.get(i));
        // every record says where it was in the list: dead letters must carry it on
        record.headers().add(PRODUCED_INDEX,
            Integer.toString(i).getBytes(java.nio.charset.StandardCharsets.UTF_8));
        RecordMetadata m = producer.send(record).get();
        out.add(new Produced(keys.get(i), values.get(i), m.partition(), m.offset()));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot produce to " + topic, e.getCause());
    }
    return out;
  }

  static KafkaConsumer<byte[], byte[]> readCommittedConsumer() {
    Map<String, Object> c = new HashMap<>();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker().bootstrapServers());
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    return new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /**
   * Every committed record of {@code topic} up to its last stable offset now, in partition then
   * offset order (read_committed: aborted transactions and open ones are not seen).
   */
  static List<ConsumerRecord<byte[], byte[]>> readCommitted(String topic) {
    try (KafkaConsumer<byte[], byte[]> consumer = readCommittedConsumer()) {
      List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      Map<TopicPartition, List<ConsumerRecord<byte[], byte[]>>> byPartition = new HashMap<>();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))) {
        if (System.nanoTime() > deadline) {
          throw new AssertionError("could not read " + topic + " up to " + end + " in 30 s");
        }
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          byPartition.computeIfAbsent(new TopicPartition(topic, r.partition()),
              k -> new ArrayList<>()).add(r);
        }
      }
      List<ConsumerRecord<byte[], byte[]>> all = new ArrayList<>();
      partitions.forEach(tp -> all.addAll(byPartition.getOrDefault(tp, List.of())));
      return all;
    }
  }
}
