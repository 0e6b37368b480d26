package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RecordValidatorTest {
  static final long NOW = Instant.parse("2026-03-01T12:00:00Z").toEpochMilli();

  RecordValidator validator() throws Exception {
    return new RecordValidator(TestingJob.spec(), Duration.ofMinutes(5));
  }

  @Test
  void aCompleteRecordPasses() throws Exception {
    assertThat(validator().check(TestingJob.tx("t", "c", "m", 0, NOW), NOW)).isNull();
  }

  @Test
  void anEmptyKeyOfAnyEntityIsMissingEntityKey() throws Exception {
    assertThat(validator().check(TestingJob.tx("t", "c", "", 1, NOW), NOW))
        .extracting(RecordValidator.Problem::reason, RecordValidator.Problem::message)
        .containsExactly(DeadLetters.MISSING_ENTITY_KEY,
            "entity 'merchant': key field 'merchant_id' is empty");
  }

  @Test
  void eventTimesPastTheToleranceOrBefore2000AreOutOfRange() throws Exception {
    RecordValidator v = validator();
    assertThat(v.check(TestingJob.tx("t", "c", "m", 1, NOW + Duration.ofMinutes(5).toMillis()), NOW))
        .isNull();
    assertThat(v.check(TestingJob.tx("t", "c", "m", 1, NOW + Duration.ofMinutes(5).toMillis() + 1), NOW)
        .reason()).isEqualTo(DeadLetters.EVENT_TIME_OUT_OF_RANGE);
    assertThat(v.check(TestingJob.tx("t", "c", "m", 1, RecordValidator.EARLIEST_EVENT_TIME), NOW))
        .isNull();
    assertThat(v.check(TestingJob.tx("t", "c", "m", 1, RecordValidator.EARLIEST_EVENT_TIME - 1), NOW)
        .message()).contains("before 2000-01-01");
  }

  @Test
  void aNegativeAmountIsRefusedAndZeroIsNot() throws Exception {
    assertThat(validator().check(TestingJob.tx("t", "c", "m", -1, NOW), NOW).reason())
        .isEqualTo(DeadLetters.NEGATIVE_AMOUNT);
  }
}
