package dev.vigil.jobs;

import dev.vigil.schemas.registry.RegistryConfig;
import dev.vigil.schemas.registry.SchemaRegistryClient;
import dev.vigil.schemas.serde.AvroWireSerializer;
import java.nio.charset.StandardCharsets;
import org.apache.avro.specific.SpecificRecord;
import org.apache.flink.api.common.serialization.SerializationSchema;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.flink.util.function.SerializableFunction;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * A generated Avro record as a Kafka record: key = a string field (the transaction id), value =
 * Confluent wire format with the class's schema registered under {@code <topic>-value} (once, on
 * first use). Each record also carries header {@code vigil.subtask}: the writing subtask, so a
 * reader can check per-subtask order (the hot-swap test does).
 */
public final class AvroRecordSerializer<T extends SpecificRecord>
    implements KafkaRecordSerializationSchema<T> {
  private static final long serialVersionUID = 1L;
  public static final String H_SUBTASK = "vigil.subtask";

  private final String topic;
  private final Class<T> type;
  private final SerializableFunction<T, String> key;
  private final RegistryConfig registry;
  private transient AvroWireSerializer<T> serializer;
  private transient byte[] subtask;

  public AvroRecordSerializer(String topic, Class<T> type, SerializableFunction<T, String> key,
      RegistryConfig registry) {
    this.topic = topic;
    this.type = type;
    this.key = key;
    this.registry = registry;
  }

  @Override
  public void open(SerializationSchema.InitializationContext context, KafkaSinkContext sink) {
    serializer = AvroWireSerializer.forSpecific(new SchemaRegistryClient(registry),
        topic + "-value", type);
    subtask = Integer.toString(sink.getParallelInstanceId()).getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(T element, KafkaSinkContext context,
      Long timestamp) {
    ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null, timestamp,
        key.apply(element).getBytes(StandardCharsets.UTF_8), serializer.serialize(element));
    r.headers().add(new RecordHeader(H_SUBTASK, subtask));
    return r;
  }
}
