package dev.vigil.jobs;

import dev.vigil.avro.DeadLetter;
import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Score;
import java.util.Properties;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.connector.base.DeliveryGuarantee;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaSink;

/** Where the scoring job writes: scores, feature vectors and dead letters. */
public record Sinks(Sink<Score> scores, Sink<FeatureVector> features, Sink<DeadLetter> deadLetters) {

  /** The transactional-id suffix of each sink: one prefix per sink, never shared. */
  public static final String SCORES_SUFFIX = "-scores";
  public static final String FEATURES_SUFFIX = "-features";
  public static final String DEAD_LETTERS_SUFFIX = "-dead-letters";
  /**
   * Producer batch.size of every sink: 256 KiB instead of Kafka's 16 KiB, so a busy sink sends
   * fewer, larger requests (an upper bound: a batch goes out after linger.ms whatever its size).
   */
  static final int BATCH_BYTES = 256 * 1024;
  /** linger.ms of the scores sink: Kafka's default, the scores are what latency is measured on. */
  static final int SCORES_LINGER_MS = 5;
  /**
   * linger.ms of the feature-vector and dead-letter logs, which no decision waits for: longer, for
   * fuller batches. With both, {@code bench pipeline} (Vigil, at-least-once, 400,000 events) went
   * from 24,540 and 25,378 to 31,564 and 32,946 events/s; each event writes a score and a feature
   * vector, where the pass-through writes one record.
   */
  static final int LOG_LINGER_MS = 20;

  /**
   * The Kafka sinks of {@code config}: each with its delivery guarantee; an exactly-once sink gets
   * its own transactional-id prefix ({@code transactional.id.prefix} + suffix) and {@code
   * transaction.timeout.ms} from {@code transaction.timeout}. Batching: {@link #BATCH_BYTES},
   * {@link #SCORES_LINGER_MS}, {@link #LOG_LINGER_MS}, which {@code sink.kafka.*} may override;
   * {@code kafka.*} and {@code sink.kafka.*} properties (security) apply to every sink. Each is a
   * {@link FailSafeKafkaSink}: a refused write restarts the job, it does not stop the TaskManager.
   */
  public static Sinks kafka(ScoringConfig config) {
    return new Sinks(
        sink(config, config.scoresDelivery(), SCORES_SUFFIX, SCORES_LINGER_MS,
            new AvroRecordSerializer<>(config.scoresTopic(), Score.class,
                Score::getTransactionId, config.registryConfig(), eventTime(config))),
        sink(config, config.featuresDelivery(), FEATURES_SUFFIX, LOG_LINGER_MS,
            new AvroRecordSerializer<>(config.featuresTopic(), FeatureVector.class,
                FeatureVector::getTransactionId, config.registryConfig(), eventTime(config))),
        sink(config, config.deadLettersDelivery(), DEAD_LETTERS_SUFFIX, LOG_LINGER_MS,
            new DeadLetterSerializer(config.deadLettersTopic(), DeadLetterSerializer.maxValueBytes(
                config.kafkaProperties(ScoringConfig.KafkaClient.SINK).getProperty("max.request.size")),
                eventTime(config))));
  }

  private static boolean eventTime(ScoringConfig config) {
    return config.sinkRecordTimestamp() == RecordTimestamp.EVENT_TIME;
  }

  /**
   * The Kafka timestamp of a written record (key {@code sink.record-timestamp}). Processing time
   * by default: a topic's time retention reads record timestamps, and a record stamped with an
   * event time older than {@code retention.ms} (a catch-up, a replay, a backfill) is deleted at the
   * broker's next retention check, before any consumer may have read it. The payloads carry the
   * event time either way.
   */
  public enum RecordTimestamp {
    /** When the sink writes it (the producer's clock). */
    PROCESSING_TIME,
    /** The event's time, the element's timestamp. */
    EVENT_TIME;

    /** From the config value {@code processing_time} or {@code event_time}. */
    public static RecordTimestamp parse(String value) {
      return ConfigEnums.parse(RecordTimestamp.class, value);
    }

    public String configValue() {
      return ConfigEnums.configValue(this);
    }
  }

  private static <T> Sink<T> sink(ScoringConfig config, DeliveryGuarantee guarantee,
      String suffix, int lingerMs, KafkaRecordSerializationSchema<T> serializer) {
    Properties producer = new Properties();
    producer.setProperty("batch.size", Integer.toString(BATCH_BYTES));
    producer.setProperty("linger.ms", Integer.toString(lingerMs));
    // kafka.* and sink.kafka.* (security, tuning) over the defaults above; never a job-owned one
    producer.putAll(config.kafkaProperties(ScoringConfig.KafkaClient.SINK));
    if (guarantee == DeliveryGuarantee.EXACTLY_ONCE) {
      producer.setProperty("transaction.timeout.ms",
          Long.toString(config.transactionTimeout().toMillis()));
    }
    var builder = KafkaSink.<T>builder()
        .setBootstrapServers(config.bootstrapServers())
        .setRecordSerializer(serializer)
        .setDeliveryGuarantee(guarantee)
        .setKafkaProducerConfig(producer);
    if (guarantee == DeliveryGuarantee.EXACTLY_ONCE) {
      builder.setTransactionalIdPrefix(config.transactionalIdPrefix() + suffix);
    }
    return new FailSafeKafkaSink<>(builder.build());
  }
}
