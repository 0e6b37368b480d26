package dev.vigil.localenv;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Transaction;
import dev.vigil.schemas.registry.SchemaLookup;
import dev.vigil.schemas.serde.AvroWireSerializer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;

class LiveStreamTest {
  /** A registry of one schema: all the serializer needs. */
  static final class TestingSchemas implements SchemaLookup {
    private final Map<Integer, Schema> byId = new HashMap<>();

    @Override
    public Schema schemaById(int id) {
      return byId.get(id);
    }

    @Override
    public int register(String subject, Schema schema) {
      byId.put(1, schema);
      return 1;
    }
  }

  static final Instant T = Instant.parse("2026-03-01T12:00:00Z");

  static LiveStream stream(int events, int bad) {
    return LiveStream.build(7, 40, T, Duration.ofMinutes(8), events, bad,
        AvroWireSerializer.forSpecific(new TestingSchemas(), "s-value", Transaction.class));
  }

  @Test
  void badRecordsTakeEveryClassInTurnAtPositionsAfterTheFirstOnes() {
    LiveStream s = stream(500, 14);
    assertThat(s.records).hasSize(514);
    List<LiveStream.Bad> bad = new ArrayList<>();
    for (int p = 0; p < s.records.size(); p++) {
      LiveStream.Rec r = s.records.get(p);
      if (r.bad() != null) {
        assertThat(p).isGreaterThanOrEqualTo(14);
        bad.add(r.bad());
      }
    }
    assertThat(bad).hasSize(14);
    for (LiveStream.Bad b : LiveStream.Bad.values()) {
      assertThat(s.badCount(b)).as(b.name()).isEqualTo(2);
    }
  }

  @Test
  void aDuplicateIsTheSameKeyAndBytesAsAnEarlierValidRecord() {
    LiveStream s = stream(300, 7);
    for (int p = 0; p < s.records.size(); p++) {
      LiveStream.Rec r = s.records.get(p);
      if (r.bad() == LiveStream.Bad.DUPLICATE) {
        boolean found = false;
        for (int q = 0; q < p; q++) {
          LiveStream.Rec o = s.records.get(q);
          found |= o.valid() >= 0 && Arrays.equals(o.value(), r.value())
              && Arrays.equals(o.key(), r.key());
        }
        assertThat(found).as("the original of the retry at %d comes before it", p).isTrue();
      }
    }
  }

  @Test
  void validPaymentsAreInEventTimeOrderFromTheCutOverWithUniqueLiveIds() {
    LiveStream s = stream(2_000, 0);
    Set<String> ids = new HashSet<>();
    long previous = T.toEpochMilli();
    for (int i = 0; i < s.valid.length; i++) {
      Transaction t = s.valid[i];
      assertThat(t.getTransactionId()).isEqualTo(LiveStream.id(i));
      assertThat(LiveStream.validIndex(t.getTransactionId())).isEqualTo(i);
      assertThat(ids.add(t.getTransactionId())).isTrue();
      long time = t.getEventTime().toEpochMilli();
      assertThat(time).isGreaterThanOrEqualTo(previous);
      previous = time;
    }
    assertThat(previous).isLessThanOrEqualTo(T.plus(Duration.ofMinutes(8)).toEpochMilli());
    assertThat(LiveStream.validIndex("bad-3")).isEqualTo(-1);
  }

  @Test
  void consistencyComparesDoublesWithinOneBillionthAndLongsAndStringsExactly() {
    assertThat(Consistency.equal(1.0, 1.0 + 1e-12)).isTrue();
    assertThat(Consistency.equal(1.0, 1.0 + 1e-6)).isFalse();
    assertThat(Consistency.equal(3L, 3L)).isTrue();
    assertThat(Consistency.equal(3L, 4L)).isFalse();
    assertThat(Consistency.equal(3L, 3.0)).isFalse();
    assertThat(Consistency.equal(new org.apache.avro.util.Utf8("m1"), "m1")).isTrue();
    assertThat(Consistency.equal(null, null)).isTrue();
    assertThat(Consistency.equal(null, 0L)).isFalse();
  }
}
