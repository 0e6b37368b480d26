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
   * The Kafka sinks of {@code config}: each with its delivery guarantee; an exactly-once sink gets
   * its own transactional-id prefix ({@code transactional.id.prefix} + suffix) and {@code
   * transaction.timeout.ms} from {@code transaction.timeout}.
   */
  public static Sinks kafka(ScoringConfig config) {
    return new Sinks(
        sink(config, config.scoresDelivery(), SCORES_SUFFIX,
            new AvroRecordSerializer<>(config.scoresTopic(), Score.class,
                Score::getTransactionId, config.registryConfig())),
        sink(config, config.featuresDelivery(), FEATURES_SUFFIX,
            new AvroRecordSerializer<>(config.featuresTopic(), FeatureVector.class,
                FeatureVector::getTransactionId, config.registryConfig())),
        sink(config, config.deadLettersDelivery(), DEAD_LETTERS_SUFFIX,
            new DeadLetterSerializer(config.deadLettersTopic())));
  }

  private static <T> KafkaSink<T> sink(ScoringConfig config, DeliveryGuarantee guarantee,
      String suffix, KafkaRecordSerializationSchema<T> serializer) {
    Properties producer = new Properties();
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
    return builder.build();
  }
}
