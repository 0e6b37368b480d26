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

  @Test
  void anEmptyOrBlankEventIdIsMissingEventIdNotASharedIdForDedupe() throws Exception {
    RecordValidator v = validator();
    assertThat(v.check(TestingJob.tx("", "c", "m", 1, NOW), NOW))
        .extracting(RecordValidator.Problem::reason, RecordValidator.Problem::message)
        .containsExactly(DeadLetters.MISSING_EVENT_ID, "field 'transaction_id' is blank '';"
            + " every event needs its own id (dedupe drops a repeated one)");
    assertThat(v.check(TestingJob.tx("  ", "c", "m", 1, NOW), NOW).reason())
        .isEqualTo(DeadLetters.MISSING_EVENT_ID);
    assertThat(v.check(TestingJob.tx("t-0", "c", "m", 1, NOW), NOW)).isNull();
  }

  @Test
  void aSummedIntegerPastTwoToThe43IsValueOutOfRangeNotAnOverflowingSum() throws Exception {
    RecordValidator v = validator(); // the test spec sums amount_cents
    long max = RecordValidator.MAX_SUMMED_MAGNITUDE;
    assertThat(v.check(TestingJob.tx("t", "c", "m", max, NOW), NOW)).isNull();
    assertThat(v.check(TestingJob.tx("t", "c", "m", max + 1, NOW), NOW))
        .extracting(RecordValidator.Problem::reason, RecordValidator.Problem::message)
        .containsExactly(DeadLetters.VALUE_OUT_OF_RANGE, "field 'amount_cents' is 8796093022209,"
            + " beyond ±8796093022208 (2^43), the largest value a feature sums: past it a"
            + " window's sum could overflow");
    assertThat(v.check(TestingJob.tx("t", "c", "m", Long.MAX_VALUE, NOW), NOW).reason())
        .isEqualTo(DeadLetters.VALUE_OUT_OF_RANGE);
  }
}
