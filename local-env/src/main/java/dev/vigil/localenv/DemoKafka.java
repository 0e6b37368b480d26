package dev.vigil.localenv;

import dev.vigil.avro.Decision;
import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Score;
import dev.vigil.jobs.DeadLetters;
import dev.vigil.schemas.registry.SchemaLookup;
import dev.vigil.schemas.serde.AvroWireDeserializer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** The demo's Kafka side: topics, the paced producer, and the read_committed reader of results. */
final class DemoKafka {
  private DemoKafka() {}

  static void createTopics(String bootstrap, Map<String, Integer> partitionsByTopic) {
    try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 60_000))) {
      List<NewTopic> topics = new ArrayList<>();
      partitionsByTopic.forEach((t, p) -> topics.add(new NewTopic(t, p, (short) 1)));
      admin.createTopics(topics).all().get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot create the topics " + partitionsByTopic.keySet()
          + ": " + e.getCause(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /**
   * Sends the live stream's records in order at {@code rate} per second (every millisecond, the
   * records due by now), key = card_id, stamping each valid record's send time (System.nanoTime,
   * just before {@code send}) for latency.
   */
  static final class PacedProducer extends Thread {
    private final String bootstrap;
    private final String topic;
    private final LiveStream live;
    private final double rate;
    final long[] sentAt;
    final AtomicInteger sent = new AtomicInteger();
    private final AtomicReference<Exception> failed = new AtomicReference<>();
    volatile long startNanos;
    volatile long endNanos;
    /** Records are sent up to this index, then the producer waits for it to rise. */
    private volatile int holdAt = Integer.MAX_VALUE;

    /**
     * Sends at most {@code n} records until called again with a higher {@code n} (a test makes each
     * of several jobs score a share of the stream, however slow the machine); the pacing resumes
     * after a hold, with no burst.
     */
    void holdAt(int n) {
      holdAt = n;
    }

    PacedProducer(String bootstrap, String topic, LiveStream live, double rate) {
      super("vigil-demo-producer");
      setDaemon(true);
      this.bootstrap = bootstrap;
      this.topic = topic;
      this.live = live;
      this.rate = rate;
      this.sentAt = new long[live.valid.length];
    }

    @Override
    public void run() {
      Map<String, Object> p = Map.of(
          ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
          ProducerConfig.ACKS_CONFIG, "all",
          ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true,
          ProducerConfig.LINGER_MS_CONFIG, 2);
      List<LiveStream.Rec> records = live.records;
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
        long start = System.nanoTime();
        startNanos = start;
        int i = 0;
        while (i < records.size() && !isInterrupted()) {
          if (i >= holdAt) {
            long held = System.nanoTime();
            while (i >= holdAt && !isInterrupted()) {
              LockSupport.parkNanos(10_000_000);
            }
            start += System.nanoTime() - held;
          }
          long due = Math.min(Math.min(records.size(), holdAt),
              1 + (long) ((System.nanoTime() - start) * rate / 1e9));
          for (; i < due; i++) {
            LiveStream.Rec r = records.get(i);
            if (r.valid() >= 0) {
              sentAt[r.valid()] = System.nanoTime();
            }
            producer.send(new ProducerRecord<>(topic, r.key(), r.value()), (m, e) -> {
              if (e != null) {
                failed.compareAndSet(null, e);
              }
            });
            sent.incrementAndGet();
          }
          LockSupport.parkNanos(1_000_000);
        }
        producer.flush();
        endNanos = System.nanoTime();
      } catch (RuntimeException e) {
        failed.compareAndSet(null, e);
      }
    }

    void check() {
      if (failed.get() != null) {
        throw new IllegalStateException("the producer failed: " + failed.get(), failed.get());
      }
    }
  }

  /**
   * Reads the scores, feature-vector and dead-letter topics from the beginning with {@code
   * isolation.level = read_committed} (what a downstream consumer sees of the exactly-once
   * sinks): per transaction id, the number of Scores, the first one's decision and the time it
   * became visible; the feature vectors of the sampled ids; dead letters per reason.
   */
  static final class Results extends Thread {
    private final KafkaConsumer<byte[], byte[]> consumer;
    private final String scoresTopic;
    private final String featuresTopic;
    private final String deadTopic;
    private final AvroWireDeserializer<Score> scores;
    private final AvroWireDeserializer<FeatureVector> vectors;
    private final Set<String> sample;
    private final PacedProducer producer;
    /** Per valid index: nanoTime its first Score became visible (0: not yet). */
    final long[] seenAt;
    final Decision[] decision;
    final int[] scoreCount;
    final AtomicLong scored = new AtomicLong();
    final AtomicLong duplicates = new AtomicLong();
    final AtomicLong unexpected = new AtomicLong();
    final AtomicLong deadLetters = new AtomicLong();
    final Map<String, AtomicLong> deadByReason = new ConcurrentHashMap<>();
    final Map<String, Map<String, Object>> sampledVectors = new ConcurrentHashMap<>();

    /** Whether every sampled event's feature vector has been read. */
    boolean sampledVectorsComplete() {
      return sampledVectors.size() >= sample.size();
    }
    final ConcurrentLinkedQueue<Long> recentLatencyNanos = new ConcurrentLinkedQueue<>();
    volatile long lastSeenNanos;
    private volatile boolean stop;
    private final AtomicReference<Exception> failed = new AtomicReference<>();

    Results(String bootstrap, String scoresTopic, String featuresTopic, String deadTopic,
        SchemaLookup registry, int valid, Set<String> sample, PacedProducer producer) {
      super("vigil-demo-results");
      setDaemon(true);
      this.scoresTopic = scoresTopic;
      this.featuresTopic = featuresTopic;
      this.deadTopic = deadTopic;
      this.scores = AvroWireDeserializer.forSpecific(registry, Score.class);
      this.vectors = AvroWireDeserializer.forSpecific(registry, FeatureVector.class);
      this.sample = sample;
      this.producer = producer;
      this.seenAt = new long[valid];
      this.decision = new Decision[valid];
      this.scoreCount = new int[valid];
      Map<String, Object> c = new HashMap<>();
      c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
      c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
      c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
      c.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 20);
      c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 10_000);
      consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
      List<TopicPartition> partitions = new ArrayList<>();
      for (String t : List.of(scoresTopic, featuresTopic, deadTopic)) {
        consumer.partitionsFor(t).forEach(pi -> partitions.add(new TopicPartition(t, pi.partition())));
      }
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
    }

    @Override
    public void run() {
      try (consumer) {
        while (!stop) {
          var records = consumer.poll(Duration.ofMillis(100));
          long now = System.nanoTime();
          for (ConsumerRecord<byte[], byte[]> r : records) {
            if (r.topic().equals(scoresTopic)) {
              score(r, now);
            } else if (r.topic().equals(featuresTopic)) {
              String id = new String(r.key(), StandardCharsets.UTF_8);
              if (sample.contains(id)) {
                FeatureVector v = vectors.deserialize(r.value());
                Map<String, Object> features = new HashMap<>();
                v.getFeatures().forEach((k, x) -> features.put(k.toString(), x));
                if (sampledVectors.putIfAbsent(id, features) != null) {
                  unexpected.incrementAndGet();
                }
              }
            } else if (r.topic().equals(deadTopic)) {
              Header h = r.headers().lastHeader(DeadLetters.H_REASON);
              String reason = h == null ? "(no reason)" : new String(h.value(), StandardCharsets.UTF_8);
              deadByReason.computeIfAbsent(reason, k -> new AtomicLong()).incrementAndGet();
              deadLetters.incrementAndGet();
              lastSeenNanos = now;
            }
          }
        }
      } catch (Exception e) {
        failed.compareAndSet(null, e);
      }
    }

    private void score(ConsumerRecord<byte[], byte[]> r, long now) throws Exception {
      String id = new String(r.key(), StandardCharsets.UTF_8);
      int i = LiveStream.validIndex(id);
      if (i < 0 || i >= seenAt.length) {
        unexpected.incrementAndGet(); // a score for an id that was never sent as valid
        return;
      }
      if (scoreCount[i]++ > 0) {
        if (scoreCount[i] == 2) {
          duplicates.incrementAndGet();
        }
        return;
      }
      decision[i] = scores.deserialize(r.value()).getDecision();
      seenAt[i] = now;
      lastSeenNanos = now;
      long sent = producer.sentAt[i];
      if (sent != 0) {
        recentLatencyNanos.add(now - sent);
      }
      scored.incrementAndGet();
    }

    void check() {
      if (failed.get() != null) {
        throw new IllegalStateException("the results reader failed: " + failed.get(),
            failed.get());
      }
    }

    void shutdown() throws InterruptedException {
      stop = true;
      join(10_000);
    }
  }
}
