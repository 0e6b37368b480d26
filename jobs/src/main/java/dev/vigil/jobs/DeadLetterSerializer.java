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
 * had one), all UTF-8 text; {@code vigil.source.key} (the source record's key bytes, as they
 * were) and {@code vigil.source.timestamp} (ISO-8601) when known; {@code vigil.exception.class}
 * (the exception behind the reason) and {@code vigil.task} (the task that dead-lettered it) when
 * known; and the source record's own headers, copied as they were (except any named {@code
 * vigil.*}), so that a replay can produce value and headers again. No record key.
 *
 * <p>Bounded: a dead letter must never be refused by its own producer ({@code
 * RecordTooLargeException} on every restart, a crash loop). A value over {@code maxValueBytes} is
 * cut to that size, and the cut is stated: {@code vigil.original.truncated: true} and {@code
 * vigil.original.size} (the whole value's size; the whole record stays at its source offset). The
 * message is cut at {@link #MAX_MESSAGE_CHARS}.
 */
public final class DeadLetterSerializer implements KafkaRecordSerializationSchema<DeadLetter> {
  private static final long serialVersionUID = 1L;
  /** Room left under the producer's max.request.size for the headers and the batch framing. */
  static final int HEADROOM_BYTES = 64 * 1024;

  static final int MAX_MESSAGE_CHARS = 8 * 1024;
  /** A source key longer than this is cut in its header (the whole key stays at the source). */
  static final int MAX_KEY_BYTES = 8 * 1024;
  /**
   * The source record's headers are copied as they were up to this many bytes (names and values);
   * past it the rest are left out and {@code vigil.source.headers.truncated} says so.
   */
  static final int MAX_SOURCE_HEADER_BYTES = 16 * 1024;
  private final String topic;
  private final int maxValueBytes;
  private final boolean eventTimeStamps;

  /** A value cap that fits Kafka's default max.request.size (1 MiB). */
  public DeadLetterSerializer(String topic) {
    this(topic, 1024 * 1024 - HEADROOM_BYTES);
  }

  public DeadLetterSerializer(String topic, int maxValueBytes) {
    this(topic, maxValueBytes, false);
  }

  /**
   * @param eventTimeStamps the record's Kafka timestamp is the element's time (the source
   *     record's event time, when decoded); otherwise the time it is written ({@link
   *     Sinks.RecordTimestamp}). The source record's own timestamp is a header either way.
   */
  public DeadLetterSerializer(String topic, int maxValueBytes, boolean eventTimeStamps) {
    this.eventTimeStamps = eventTimeStamps;
    if (maxValueBytes < 1) {
      throw new IllegalArgumentException("maxValueBytes must be positive, got " + maxValueBytes);
    }
    this.topic = topic;
    this.maxValueBytes = maxValueBytes;
  }

  /** The value cap for a producer with this {@code max.request.size} (null: Kafka's default). */
  public static int maxValueBytes(String maxRequestSize) {
    int request = maxRequestSize == null ? 1024 * 1024 : Integer.parseInt(maxRequestSize.trim());
    return Math.max(1024, request - HEADROOM_BYTES);
  }

  @Override
  public ProducerRecord<byte[], byte[]> serialize(DeadLetter d, KafkaSinkContext context,
      Long timestamp) {
    ByteBuffer b = d.getOriginal().duplicate();
    int size = b.remaining();
    byte[] value = new byte[Math.min(size, maxValueBytes)];
    b.get(value);
    ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(topic, null,
        eventTimeStamps ? timestamp : null, null, value);
    Headers h = r.headers();
    add(h, DeadLetters.H_REASON, d.getReason());
    String message = d.getMessage().toString();
    if (message.length() > MAX_MESSAGE_CHARS) {
      message = message.substring(0, MAX_MESSAGE_CHARS) + "... (cut at " + MAX_MESSAGE_CHARS
          + " of " + message.length() + " characters)";
    }
    add(h, DeadLetters.H_MESSAGE, message);
    if (size > maxValueBytes) {
      add(h, DeadLetters.H_ORIGINAL_TRUNCATED, "true");
      add(h, DeadLetters.H_ORIGINAL_SIZE, Integer.toString(size));
    }
    if (d.getSourceKey() != null) {
      ByteBuffer k = d.getSourceKey().duplicate();
      byte[] key = new byte[Math.min(k.remaining(), MAX_KEY_BYTES)];
      k.get(key);
      h.add(new RecordHeader(DeadLetters.H_KEY, key));
    }
    if (d.getSourceTimestamp() != null) {
      add(h, DeadLetters.H_SOURCE_TIMESTAMP, d.getSourceTimestamp().toString());
    }
    add(h, DeadLetters.H_TOPIC, d.getSourceTopic());
    add(h, DeadLetters.H_PARTITION, Integer.toString(d.getSourcePartition()));
    add(h, DeadLetters.H_OFFSET, Long.toString(d.getSourceOffset()));
    add(h, DeadLetters.H_TIME, d.getDeadLetteredAt().toString());
    if (d.getSchemaId() != null) {
      add(h, DeadLetters.H_SCHEMA_ID, d.getSchemaId().toString());
    }
    if (d.getExceptionClass() != null) {
      add(h, DeadLetters.H_EXCEPTION_CLASS, d.getExceptionClass());
    }
    if (d.getTask() != null) {
      add(h, DeadLetters.H_TASK, d.getTask());
    }
    if (d.getSourceHeaders() != null) {
      int budget = MAX_SOURCE_HEADER_BYTES;
      for (dev.vigil.avro.SourceHeader sh : d.getSourceHeaders()) {
        String name = sh.getKey().toString();
        if (name.startsWith("vigil.")) {
          continue; // ours: a dead letter replayed and dead-lettered again gets them anew
        }
        byte[] v = null;
        if (sh.getValue() != null) {
          ByteBuffer hv = sh.getValue().duplicate();
          v = new byte[hv.remaining()];
          hv.get(v);
        }
        int cost = name.length() + (v == null ? 0 : v.length);
        if (cost > budget) {
          add(h, DeadLetters.H_HEADERS_TRUNCATED, "true");
          break;
        }
        budget -= cost;
        h.add(new RecordHeader(name, v));
      }
    }
    return r;
  }

  private static void add(Headers h, String name, CharSequence value) {
    h.add(new RecordHeader(name, value.toString().getBytes(StandardCharsets.UTF_8)));
  }
}
