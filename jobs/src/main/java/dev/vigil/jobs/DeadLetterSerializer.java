package dev.vigil.jobs;

import dev.vigil.avro.DeadLetter;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.apache.flink.connector.kafka.sink.KafkaRecordSerializationSchema;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeader;

/**
 * A dead letter as a Kafka record: the value is the original record's bytes, exactly as consumed
 * (replay = produce them again); the reason and provenance are headers ({@code vigil.reason},
 * {@code vigil.message}, {@code vigil.source.topic}, {@code vigil.source.partition}, {@code
 * vigil.source.offset}, {@code vigil.time} ISO-8601, and {@code vigil.schema.id} when the frame
 * had one), all UTF-8 text. No key: the source key stays at the source offset.
 */
public final class DeadLetterSerializer implements KafkaRecordSerializationSchema<DeadLetter> {
  private static final long serialVersionUID = 1L;
  private final String topic;

  public DeadLetterSerializer(String topic) {
    this.topic = topic;
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(DeadLetter d, KafkaSinkContext context,
      Long timestamp) {
    ByteBuffer b = d.getOriginal().duplicate();
    byte[] value = new byte[b.remaining()];
    b.get(value);
    ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null, timestamp, null, value);
    Headers h = r.headers();
    add(h, DeadLetters.H_REASON, d.getReason());
    add(h, DeadLetters.H_MESSAGE, d.getMessage());
    add(h, DeadLetters.H_TOPIC, d.getSourceTopic());
    add(h, DeadLetters.H_PARTITION, Integer.toString(d.getSourcePartition()));
    add(h, DeadLetters.H_OFFSET, Long.toString(d.getSourceOffset()));
    add(h, DeadLetters.H_TIME, d.getDeadLetteredAt().toString());
    if (d.getSchemaId() != null) {
      add(h, DeadLetters.H_SCHEMA_ID, d.getSchemaId().toString());
    }
    return r;
  }

  private static void add(Headers h, String name, String value) {
    h.add(new RecordHeader(name, value.getBytes(StandardCharsets.UTF_8)));
  }
}
