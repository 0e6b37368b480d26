package dev.vigil.jobs;

import dev.vigil.avro.DeadLetter;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.formats.avro.typeutils.AvroTypeInfo;
import org.apache.flink.util.OutputTag;

/**
 * The dead-letter reasons and the one side output they travel on. Every record the job cannot
 * score becomes exactly one {@link DeadLetter}: records in = scored + dead letters. Only a problem
 * of the record itself is a reason: a registry outage holds records back ({@link
 * RegistryHoldBack}), it never dead-letters them.
 */
public final class DeadLetters {
  private DeadLetters() {}

  public static final String NOT_FRAMED = "not_framed";
  public static final String UNKNOWN_SCHEMA_ID = "unknown_schema_id";
  public static final String UNDECODABLE = "undecodable";
  public static final String INCOMPATIBLE_WRITER_SCHEMA = "incompatible_writer_schema";
  public static final String MISSING_ENTITY_KEY = "missing_entity_key";
  /** The event's id (the dedupe field) is null or blank. */
  public static final String MISSING_EVENT_ID = "missing_event_id";
  public static final String EVENT_TIME_OUT_OF_RANGE = "event_time_out_of_range";
  public static final String NEGATIVE_AMOUNT = "negative_amount";
  /** An integer that a feature sums is past {@link RecordValidator#MAX_SUMMED_MAGNITUDE}. */
  public static final String VALUE_OUT_OF_RANGE = "value_out_of_range";
  public static final String DUPLICATE = "duplicate";
  /** The model threw, or scored something that is not a probability: never approved. */
  public static final String MODEL_ERROR = "model_error";

  /** Every reason, in the order of the pipeline. */
  public static final List<String> REASONS = List.of(NOT_FRAMED, UNKNOWN_SCHEMA_ID, UNDECODABLE,
      INCOMPATIBLE_WRITER_SCHEMA, MISSING_ENTITY_KEY, MISSING_EVENT_ID,
      EVENT_TIME_OUT_OF_RANGE, VALUE_OUT_OF_RANGE, NEGATIVE_AMOUNT, DUPLICATE, MODEL_ERROR);

  public static final TypeInformation<DeadLetter> TYPE = new AvroTypeInfo<>(DeadLetter.class);

  /** The side output of the operators that dead-letter. */
  public static final OutputTag<DeadLetter> TAG = new OutputTag<>("dead-letters", TYPE);

  /** Headers of a dead-letter record on the topic (its value is the original bytes). */
  public static final String H_REASON = "vigil.reason";
  public static final String H_MESSAGE = "vigil.message";
  public static final String H_TOPIC = "vigil.source.topic";
  public static final String H_PARTITION = "vigil.source.partition";
  public static final String H_OFFSET = "vigil.source.offset";
  public static final String H_TIME = "vigil.time";
  public static final String H_SCHEMA_ID = "vigil.schema.id";

  public static final String H_KEY = "vigil.source.key";
  public static final String H_SOURCE_TIMESTAMP = "vigil.source.timestamp";
  public static final String H_EXCEPTION_CLASS = "vigil.exception.class";
  public static final String H_TASK = "vigil.task";
  /** Set when the source record's headers did not all fit (see DeadLetterSerializer). */
  public static final String H_HEADERS_TRUNCATED = "vigil.source.headers.truncated";
  /** The size of the original value when it was cut to fit the producer's request size. */
  public static final String H_ORIGINAL_SIZE = "vigil.original.size";
  public static final String H_ORIGINAL_TRUNCATED = "vigil.original.truncated";

  /** As {@link #of(String, String, String, int, long, Integer, byte[])}, with the source record's key and timestamp. */
  public static DeadLetter of(String reason, String message, String topic, int partition,
      long offset, Integer schemaId, byte[] original, byte[] key, Long timestamp) {
    DeadLetter d = of(reason, message, topic, partition, offset, schemaId, original);
    d.setSourceKey(key == null ? null : ByteBuffer.wrap(key));
    d.setSourceTimestamp(timestamp == null ? null : Instant.ofEpochMilli(timestamp));
    return d;
  }

  /** {@code d} with the source record's headers, as consumed (none: unchanged). */
  public static DeadLetter withHeaders(DeadLetter d, String[] keys, byte[][] values) {
    if (keys != null && keys.length > 0) {
      List<dev.vigil.avro.SourceHeader> headers = new java.util.ArrayList<>(keys.length);
      for (int i = 0; i < keys.length; i++) {
        headers.add(new dev.vigil.avro.SourceHeader(keys[i],
            values[i] == null ? null : ByteBuffer.wrap(values[i])));
      }
      d.setSourceHeaders(headers);
    }
    return d;
  }

  /** {@code d} with the class of the exception behind it ({@code null}: none). */
  public static DeadLetter withException(DeadLetter d, Throwable cause) {
    d.setExceptionClass(cause == null ? null : cause.getClass().getName());
    return d;
  }

  public static DeadLetter of(String reason, String message, String topic, int partition,
      long offset, Integer schemaId, byte[] original) {
    return DeadLetter.newBuilder()
        .setReason(reason)
        .setMessage(message)
        .setSourceTopic(topic)
        .setSourcePartition(partition)
        .setSourceOffset(offset)
        .setDeadLetteredAt(Instant.ofEpochMilli(System.currentTimeMillis()))
        .setSchemaId(schemaId)
        .setOriginal(ByteBuffer.wrap(original == null ? new byte[0] : original))
        .build();
  }
}
