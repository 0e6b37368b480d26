package dev.vigil.jobs;

import dev.vigil.transforms.flink.FeatureEvent;
import org.apache.flink.api.common.eventtime.TimestampAssigner;
import org.apache.flink.api.common.serialization.DeserializationSchema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Kafka records as {@link RawRecord}s, untouched; with a {@link RecordDecoder}, each is also decoded
 * here, inside the source, so that the source's per-partition watermarks see the event times
 * ({@link #eventTime}). No record can fail the source: a bad one carries its dead letter on.
 *
 * <p>A registry outage can: while an uncached schema id cannot be resolved, {@link #deserialize}
 * waits in the source's task thread ({@link RegistryHoldBack}: the source stops reading, back
 * pressure) and, after {@code registry.outage.fail-after}, fails the task so that the job restarts
 * from its last checkpoint. Its metrics are in the source reader's group: {@code
 * deserializer.vigil.registry.*}.
 */
public final class RawRecordDeserializer implements KafkaRecordDeserializationSchema<RawRecord> {
  private static final long serialVersionUID = 2L;

  public static final TypeInformation<RawRecord> TYPE = TypeInformation.of(RawRecord.class);

  /** Null: no decoding (raw bytes only). */
  private final RecordDecoder decoder;

  public RawRecordDeserializer() {
    this(null);
  }

  public RawRecordDeserializer(RecordDecoder decoder) {
    this.decoder = decoder;
  }

  @Override
  public void open(DeserializationSchema.InitializationContext context) {
    if (decoder != null) {
      decoder.open(context.getMetricGroup());
    }
  }

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<RawRecord> out) {
    RawRecord raw = new RawRecord(record.topic(), record.partition(), record.offset(),
        record.timestamp(), record.key(), record.value());
    org.apache.kafka.common.header.Header[] headers = record.headers().toArray();
    if (headers.length > 0) {
      raw.headerKeys = new String[headers.length];
      raw.headerValues = new byte[headers.length][];
      for (int i = 0; i < headers.length; i++) {
        raw.headerKeys[i] = headers[i].key();
        raw.headerValues[i] = headers[i].value();
      }
    }
    if (decoder != null) {
      raw.decoded = decoder.decode(raw);
    }
    out.collect(raw);
  }

  /**
   * The timestamp assigner of the source: a decoded event's event time; a dead letter's is {@code
   * Long.MIN_VALUE}, which moves no watermark (a bad record's time is not to be trusted).
   */
  public static TimestampAssigner<RawRecord> eventTime(RecordDecoder decoder) {
    return (raw, kafkaTimestamp) -> raw.decoded instanceof FeatureEvent e
        ? decoder.eventTimeOf(e) : Long.MIN_VALUE;
  }

  @Override
  public TypeInformation<RawRecord> getProducedType() {
    return TYPE;
  }
}
