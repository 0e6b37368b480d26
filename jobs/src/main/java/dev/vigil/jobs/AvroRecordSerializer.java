package dev.vigil.jobs;

import dev.vigil.avro.FeatureVector;
import dev.vigil.avro.Score;
import dev.vigil.schemas.registry.RegistryConfig;
import dev.vigil.schemas.registry.SchemaRegistryClient;
import dev.vigil.schemas.serde.AvroWireSerializer;
import dev.vigil.schemas.serde.ConfluentWireFormat;
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
 *
 * <p>{@link Score} and {@link FeatureVector} bodies are written by {@link OutputEncoders} (the same
 * bytes as Avro's {@code SpecificDatumWriter}, several times faster); any other type, or a record
 * those encoders do not expect, by the generic writer.
 */
public final class AvroRecordSerializer<T extends SpecificRecord>
    implements KafkaRecordSerializationSchema<T> {
  private static final long serialVersionUID = 1L;
  public static final String H_SUBTASK = "vigil.subtask";

  private final String topic;
  private final Class<T> type;
  private final SerializableFunction<T, String> key;
  private final RegistryConfig registry;
  private final boolean eventTimeStamps;
  private transient AvroWireSerializer<T> serializer;
  private transient byte[] subtask;
  private transient OutputEncoders.Encoder<T> fast;
  private transient OutputEncoders.Buffer buffer;

  public AvroRecordSerializer(String topic, Class<T> type, SerializableFunction<T, String> key,
      RegistryConfig registry) {
    this(topic, type, key, registry, false);
  }

  /**
   * @param eventTimeStamps the records' Kafka timestamp is the element's (event) time; otherwise
   *     the time they are written ({@link Sinks.RecordTimestamp})
   */
  public AvroRecordSerializer(String topic, Class<T> type, SerializableFunction<T, String> key,
      RegistryConfig registry, boolean eventTimeStamps) {
    this.eventTimeStamps = eventTimeStamps;
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
    fast = OutputEncoders.forType(type);
    buffer = new OutputEncoders.Buffer(512);
  }

  /** The Confluent wire format of {@code element}: magic byte, schema id, Avro binary body. */
  byte[] value(T element) {
    if (fast != null) {
      byte[] framed = frame(serializer.schemaId(), fast, buffer, element);
      if (framed != null) {
        return framed;
      }
    }
    return serializer.serialize(element);
  }

  /**
   * {@code element} framed as {@link AvroWireSerializer#serialize} frames it, its body written by
   * {@code encoder} into {@code buffer}; null if the encoder refused the record.
   */
  static <T> byte[] frame(int schemaId, OutputEncoders.Encoder<T> encoder,
      OutputEncoders.Buffer buffer, T element) {
    buffer.reset();
    buffer.writeByte(ConfluentWireFormat.MAGIC);
    buffer.writeByte(schemaId >>> 24);
    buffer.writeByte(schemaId >>> 16);
    buffer.writeByte(schemaId >>> 8);
    buffer.writeByte(schemaId);
    return encoder.encode(element, buffer) ? buffer.toByteArray() : null;
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(T element, KafkaSinkContext context,
      Long timestamp) {
    ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null,
        eventTimeStamps ? timestamp : null, key.apply(element).getBytes(StandardCharsets.UTF_8), value(element));
    r.headers().add(new RecordHeader(H_SUBTASK, subtask));
    return r;
  }
}
