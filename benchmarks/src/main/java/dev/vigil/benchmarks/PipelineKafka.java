package dev.vigil.benchmarks;

import dev.vigil.avro.Transaction;
import dev.vigil.models.demo.FraudGenerator;
import dev.vigil.schemas.registry.SchemaRegistryClient;
import dev.vigil.schemas.serde.AvroWireSerializer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The Kafka side of {@code vigil bench pipeline}: the input (wire-format Transactions keyed by
 * card_id, serialized once), the bulk and the paced producer, and the read_committed watcher of the
 * scores topic that times when each score becomes visible.
 */
final class PipelineKafka {
  private PipelineKafka() {}

  static final String SUBJECT = "payments.transactions-value";

  /**
   * Event {@code i} is transaction {@code "t" + i}: {@link FraudGenerator} payments (seeded, in
   * event-time order, from a year ago), key = card_id, value = Confluent wire format; {@code
   * firstMillis} and {@code lastMillis} are the first and last event's event time.
   */
  record Input(byte[][] keys, byte[][] values, long firstMillis, long lastMillis) {
    /**
     * Event {@code i}'s value with its {@code event_time} set to {@code millis}: the paced phase's
     * events happen when they are sent, as live traffic does.
     */
    byte[] valueAt(int i, long millis) {
      return withEventTime(values[i], millis);
    }

    static Input generate(String registryUrl, int n, int cards) {
      AvroWireSerializer<Transaction> serializer = AvroWireSerializer.forSpecific(
          SchemaRegistryClient.of(registryUrl), SUBJECT, Transaction.class);
      Instant start = Instant.ofEpochMilli(
          (System.currentTimeMillis() - Duration.ofDays(365).toMillis()) / 60_000 * 60_000);
      Iterator<FraudGenerator.Labelled> it =
          FraudGenerator.generate(42, cards, start, Duration.ofDays(365), 3.0);
      byte[][] keys = new byte[n][];
      byte[][] values = new byte[n][];
      long first = 0;
      long last = 0;
      for (int i = 0; i < n; i++) {
        if (!it.hasNext()) {
          throw new IllegalArgumentException(cards + " cards pay " + i + " times in a year, fewer"
              + " than the " + n + " events asked for: use more cards");
        }
        Transaction tx = it.next().tx();
        tx.setTransactionId("t" + i);
        last = tx.getEventTime().toEpochMilli();
        if (i == 0) {
          first = last;
        }
        keys[i] = tx.getCardId().getBytes(StandardCharsets.UTF_8);
        values[i] = serializer.serialize(tx);
      }
      return new Input(keys, values, first, last);
    }

    int size() {
      return values.length;
    }

    /**
     * How much faster than the wall clock the input's event time runs when sent at {@code rate}
     * events per second: event-time milliseconds per wall-clock millisecond.
     */
    double compression(double rate) {
      return size() < 2 ? 1 : (double) (lastMillis - firstMillis) / (size() - 1) * rate / 1000;
    }
  }

  /**
   * A wire-format Transaction with another {@code event_time}: after the 5-byte frame, the Avro
   * binary fields transaction_id, card_id, merchant_id (strings), amount_cents (long), currency
   * (string), then event_time (long), each a zig-zag varint or a varint length and bytes.
   */
  static byte[] withEventTime(byte[] wire, long millis) {
    int[] pos = {5};
    for (int f = 0; f < 3; f++) {
      int length = (int) ScoreWatcher.varlong(wire, pos); // read before pos[0] is
      pos[0] += length;
    }
    ScoreWatcher.varlong(wire, pos);
    int currency = (int) ScoreWatcher.varlong(wire, pos);
    pos[0] += currency;
    int start = pos[0];
    ScoreWatcher.varlong(wire, pos);
    int end = pos[0];
    byte[] time = new byte[10];
    int len = 0;
    long z = (millis << 1) ^ (millis >> 63);
    while ((z & ~0x7fL) != 0) {
      time[len++] = (byte) ((z & 0x7f) | 0x80);
      z >>>= 7;
    }
    time[len++] = (byte) z;
    byte[] out = new byte[wire.length - (end - start) + len];
    System.arraycopy(wire, 0, out, 0, start);
    System.arraycopy(time, 0, out, start, len);
    System.arraycopy(wire, end, out, start + len, wire.length - end);
    return out;
  }

  static Admin admin(String bootstrap) {
    return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000));
  }

  static void createTopic(String bootstrap, String name, int partitions) {
    try (Admin admin = admin(bootstrap)) {
      admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot create topic " + name + ": " + e.getCause(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Sends events {@code [from, to)} as fast as the broker takes them (batched), and waits. */
  static void produceAll(String bootstrap, String topic, Input input, int from, int to) {
    Map<String, Object> p = Map.of(
        ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
        ProducerConfig.LINGER_MS_CONFIG, 20,
        ProducerConfig.BATCH_SIZE_CONFIG, 512 * 1024,
        ProducerConfig.BUFFER_MEMORY_CONFIG, 128L * 1024 * 1024);
    AtomicReference<Exception> failed = new AtomicReference<>();
    try (KafkaProducer<byte[], byte[]> producer =
        new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
      for (int i = from; i < to; i++) {
        producer.send(new ProducerRecord<>(topic, input.keys()[i], input.values()[i]),
            (m, e) -> {
              if (e != null) {
                failed.compareAndSet(null, e);
              }
            });
      }
      producer.flush();
    }
    if (failed.get() != null) {
      throw new IllegalStateException("cannot produce to " + topic, failed.get());
    }
  }

  /**
   * Sends events {@code [from, to)} at {@code rate} per second: every half millisecond, the events
   * due by now, each stamped (System.nanoTime, just before {@code send}) in {@code producedAt} and,
   * in its Kafka timestamp and its {@code event_time}, with the wall clock: live traffic, whose
   * event time is the time it is sent (the pre-produced events are a year of payments, whose
   * event time runs ~14,000x the wall clock at 5,000/s, so that a 2 s {@code as_of} lag is a
   * fraction of a millisecond of sending and the merchant stage waits for the next watermark,
   * every 50 ms). No linger: a record leaves when it is sent.
   */
  static final class PacedProducer extends Thread {
    private final String bootstrap;
    private final String topic;
    private final Input input;
    private final int from;
    private final int to;
    private final double rate;
    private final long[] producedAt;
    private final AtomicReference<Exception> failed = new AtomicReference<>();
    private volatile boolean halted;
    volatile double achievedRate;

    PacedProducer(String bootstrap, String topic, Input input, int from, int to, double rate,
        long[] producedAt) {
      super("bench-paced-producer");
      setDaemon(true);
      this.bootstrap = bootstrap;
      this.topic = topic;
      this.input = input;
      this.from = from;
      this.to = to;
      this.rate = rate;
      this.producedAt = producedAt;
    }

    @Override
    public void run() {
      Map<String, Object> p = Map.of(
          ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
          ProducerConfig.LINGER_MS_CONFIG, 0);
      try (KafkaProducer<byte[], byte[]> producer =
          new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer())) {
        long start = System.nanoTime();
        int i = from;
        while (i < to && !halted) {
          long due = Math.min(to, from + 1 + (long) ((System.nanoTime() - start) * rate / 1e9));
          long wall = System.currentTimeMillis();
          for (; i < due; i++) {
            producedAt[i] = System.nanoTime();
            producer.send(new ProducerRecord<>(topic, null, wall, input.keys()[i],
                input.valueAt(i, wall)), (m, e) -> {
                  if (e != null) {
                    failed.compareAndSet(null, e);
                  }
                });
          }
          LockSupport.parkNanos(500_000);
        }
        producer.flush();
        achievedRate = (i - from) / ((System.nanoTime() - start) / 1e9);
      } catch (RuntimeException e) {
        failed.compareAndSet(null, e);
      }
    }

    /** Stops sending before {@code to} (the warm-up's JIT wait); {@link #join} still waits. */
    void halt() {
      halted = true;
    }

    void check() {
      if (failed.get() != null) {
        throw new IllegalStateException("the paced producer failed", failed.get());
      }
    }
  }

  /**
   * Reads the scores topic from the beginning with {@code isolation.level = read_committed} and
   * notes, per event (the record key is the transaction id {@code "t" + i}), the System.nanoTime
   * at which the poll that returned its first score came back: when it became visible to a
   * read_committed consumer. Fetches wait at most 10 ms on the broker, and one poll takes all that
   * is visible (up to 64 MB), so an exactly-once commit shows up as one poll.
   */
  static final class ScoreWatcher implements AutoCloseable {
    final long[] seenAt;
    /** Per event, its Score's {@code scored_at} (wall clock, ms) on this watcher's nanoTime clock. */
    final long[] scoredNanos;
    private final AtomicLong distinct = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    private volatile long firstPollNanos;
    private volatile int firstPollCount;
    private volatile long firstScoredAtMillis;
    private final long wallAtStart = System.currentTimeMillis();
    private final long nanosAtStart = System.nanoTime();
    private volatile boolean stop;
    private final AtomicReference<Exception> failed = new AtomicReference<>();
    private final Thread thread;

    ScoreWatcher(String bootstrap, String topic, int capacity) {
      this.seenAt = new long[capacity];
      this.scoredNanos = new long[capacity];
      Map<String, Object> c = Map.of(
          ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
          ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed",
          ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false,
          ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 10,
          ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1_000_000,
          ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 64 * 1024 * 1024,
          ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 64 * 1024 * 1024);
      KafkaConsumer<byte[], byte[]> consumer =
          new KafkaConsumer<>(c, new ByteArrayDeserializer(), new ByteArrayDeserializer());
      List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
          .map(p -> new TopicPartition(topic, p.partition())).toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      thread = new Thread(() -> read(consumer), "bench-score-watcher");
      thread.setDaemon(true);
      thread.start();
    }

    private void read(KafkaConsumer<byte[], byte[]> consumer) {
      try (consumer) {
        while (!stop) {
          ConsumerRecords<byte[], byte[]> records = consumer.poll(Duration.ofMillis(50));
          long now = System.nanoTime();
          if (records.isEmpty()) {
            continue;
          }
          if (firstPollNanos == 0) {
            firstPollCount = records.count();
            firstScoredAtMillis = scoredAt(records.iterator().next().value());
            firstPollNanos = now;
          }
          for (ConsumerRecord<byte[], byte[]> r : records) {
            String key = new String(r.key(), StandardCharsets.US_ASCII);
            int i = Integer.parseInt(key, 1, key.length(), 10);
            if (seenAt[i] == 0) {
              seenAt[i] = now;
              scoredNanos[i] = nanosAtStart + (scoredAt(r.value()) - wallAtStart) * 1_000_000;
              distinct.incrementAndGet();
            } else {
              duplicates.incrementAndGet();
            }
          }
        }
      } catch (RuntimeException e) {
        failed.compareAndSet(null, e);
      }
    }

    /**
     * {@code Score.scored_at} of a wire-format Score: after the 5-byte frame, the Avro binary
     * fields transaction_id (string), event_time and scored_at (longs), zig-zag varints.
     */
    static long scoredAt(byte[] wire) {
      int[] pos = {5};
      long idLength = varlong(wire, pos);
      pos[0] += (int) idLength;
      varlong(wire, pos);
      return varlong(wire, pos);
    }

    static long varlong(byte[] b, int[] pos) {
      long raw = 0;
      int shift = 0;
      while (true) {
        int x = b[pos[0]++] & 0xff;
        raw |= (long) (x & 0x7f) << shift;
        if (x < 0x80) {
          return (raw >>> 1) ^ -(raw & 1);
        }
        shift += 7;
      }
    }

    /**
     * When the job wrote its first score (its scored_at, wall clock of this machine), as a
     * System.nanoTime of this watcher's clock: the first record of the topic is the first written.
     */
    long firstScoredNanos() {
      return nanosAtStart + (firstScoredAtMillis - wallAtStart) * 1_000_000;
    }

    /** Events with a visible score (reads after this see their {@link #seenAt}). */
    long distinct() {
      if (failed.get() != null) {
        throw new IllegalStateException("the scores reader failed", failed.get());
      }
      return distinct.get();
    }

    long duplicates() {
      return duplicates.get();
    }

    long firstPollNanos() {
      return firstPollNanos;
    }

    int firstPollCount() {
      return firstPollCount;
    }

    /** The latest visibility time among events {@code [from, to)}. */
    long lastSeen(int from, int to) {
      return Arrays.stream(seenAt, from, to).max().orElse(0);
    }

    @Override
    public void close() throws InterruptedException {
      stop = true;
      thread.join(10_000);
    }
  }
}
