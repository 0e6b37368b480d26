package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.DeadLetter;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

class DeadLetterSerializerTest {
  private static String header(ProducerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }

  @Test
  void anOversizedRecordIsCutToFitTheProducerAndTheCutIsStated() {
    byte[] huge = new byte[3 * 1024 * 1024];
    Arrays.fill(huge, (byte) 7);
    DeadLetter d = DeadLetters.of(DeadLetters.UNDECODABLE, "x".repeat(20_000), "in", 3, 99L,
        null, huge, "card-1".getBytes(StandardCharsets.UTF_8), 1_772_366_400_000L);
    int cap = DeadLetterSerializer.maxValueBytes(null);
    ProducerRecord<byte[], byte[]> r = new DeadLetterSerializer("dead", cap).serialize(d, null, 5L);
    assertThat(r.value()).hasSize(cap);
    assertThat(cap).isLessThan(1024 * 1024); // under Kafka's default max.request.size
    assertThat(header(r, DeadLetters.H_ORIGINAL_TRUNCATED)).isEqualTo("true");
    assertThat(header(r, DeadLetters.H_ORIGINAL_SIZE)).isEqualTo(Integer.toString(huge.length));
    assertThat(header(r, DeadLetters.H_MESSAGE))
        .hasSizeLessThan(DeadLetterSerializer.MAX_MESSAGE_CHARS + 100)
        .endsWith("(cut at 8192 of 20000 characters)");
    assertThat(header(r, DeadLetters.H_KEY)).isEqualTo("card-1");
    assertThat(header(r, DeadLetters.H_SOURCE_TIMESTAMP)).isEqualTo("2026-03-01T12:00:00Z");
    assertThat(header(r, DeadLetters.H_OFFSET)).isEqualTo("99");
  }

  @Test
  void aRecordThatFitsIsKeptWholeWithNoCutHeaders() {
    byte[] small = {0, 0, 0, 0, 7, 1, 2};
    ProducerRecord<byte[], byte[]> r = new DeadLetterSerializer("dead", 1024)
        .serialize(DeadLetters.of(DeadLetters.NOT_FRAMED, "short", "in", 0, 1L, 7, small), null, 5L);
    assertThat(r.value()).isEqualTo(small);
    assertThat(header(r, DeadLetters.H_ORIGINAL_TRUNCATED)).isNull();
    assertThat(header(r, DeadLetters.H_KEY)).isNull();
    assertThat(DeadLetterSerializer.maxValueBytes("4194304")).isEqualTo(4194304 - 65536);
  }

  @Test
  void theKafkaTimestampIsTheWriteTimeUnlessEventTimeIsAskedFor() {
    DeadLetter d = DeadLetters.of(DeadLetters.NOT_FRAMED, "short", "in", 0, 1L, 7, new byte[] {1});
    long old = 1_772_366_400_000L; // weeks before now: retention would delete it at once
    assertThat(new DeadLetterSerializer("dead", 1024).serialize(d, null, old).timestamp())
        .as("null: the producer stamps it when it is sent").isNull();
    assertThat(new DeadLetterSerializer("dead", 1024, true).serialize(d, null, old).timestamp())
        .isEqualTo(old);
  }

  @Test
  void theSourceHeadersAreCopiedAsTheyWereWithTheExceptionClassAndTheTaskAndCappedWithACutStated() {
    DeadLetter d = DeadLetters.of(DeadLetters.UNDECODABLE, "bad", "in", 0, 1L, 7, new byte[] {1});
    DeadLetters.withException(d, new java.io.EOFException("short"));
    d.setTask("decode + validate (2/4)#0");
    byte[] big = new byte[DeadLetterSerializer.MAX_SOURCE_HEADER_BYTES];
    DeadLetters.withHeaders(d, new String[] {"trace-id", "vigil.reason", "empty", "huge", "after"},
        new byte[][] {"abc".getBytes(StandardCharsets.UTF_8), "old".getBytes(StandardCharsets.UTF_8),
            null, big, "x".getBytes(StandardCharsets.UTF_8)});
    ProducerRecord<byte[], byte[]> r = new DeadLetterSerializer("dead", 1024).serialize(d, null, 5L);
    assertThat(header(r, "trace-id")).isEqualTo("abc");
    assertThat(r.headers().lastHeader("empty")).isNotNull();
    assertThat(r.headers().lastHeader("empty").value()).isNull();
    assertThat(header(r, DeadLetters.H_REASON)).as("ours, not the source's").isEqualTo("undecodable");
    assertThat(r.headers().headers(DeadLetters.H_REASON)).hasSize(1);
    assertThat(r.headers().lastHeader("huge")).as("past the cap").isNull();
    assertThat(r.headers().lastHeader("after")).isNull();
    assertThat(header(r, DeadLetters.H_HEADERS_TRUNCATED)).isEqualTo("true");
    assertThat(header(r, DeadLetters.H_EXCEPTION_CLASS)).isEqualTo("java.io.EOFException");
    assertThat(header(r, DeadLetters.H_TASK)).isEqualTo("decode + validate (2/4)#0");
  }
}
