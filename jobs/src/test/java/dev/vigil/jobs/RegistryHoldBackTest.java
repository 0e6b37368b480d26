package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.schemas.registry.RegistryException;
import dev.vigil.schemas.serde.WireFormatException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The hold-back's schedule and its give-up rules, on a fake clock (no registry, no waiting). */
class RegistryHoldBackTest {
  static final RegistryHoldBack.Policy POLICY = new RegistryHoldBack.Policy(
      Duration.ofMillis(200), Duration.ofSeconds(10), Duration.ofMinutes(5));

  /** Time moves only when the hold-back sleeps; each sleep is recorded. */
  static class FakeClock implements RegistryHoldBack.Clock {
    long nanos = 1_000_000_000L;
    final List<Long> sleeps = new ArrayList<>();

    @Override
    public long nanoTime() {
      return nanos;
    }

    @Override
    public void sleep(long millis) {
      sleeps.add(millis);
      nanos += millis * 1_000_000L;
    }
  }

  /** A lookup that fails {@code failures} times with {@code kind}, then answers "schema". */
  static final class FlakyRegistry implements RegistryHoldBack.Lookup<String> {
    final RegistryException.Kind kind;
    int failures;
    int calls;

    FlakyRegistry(RegistryException.Kind kind, int failures) {
      this.kind = kind;
      this.failures = failures;
    }

    @Override
    public String get() {
      calls++;
      if (failures-- > 0) {
        throw new RegistryException(kind, 0, 0, "connection refused");
      }
      return "schema";
    }
  }

  final FakeClock clock = new FakeClock();
  // jitter factor 0.5 + 0.5 = 1: the waits are the nominal backoff
  final RegistryHoldBack holdBack =
      new RegistryHoldBack(POLICY, "http://registry", null, clock, () -> 0.5);

  @Test
  void anUnreachableRegistryIsAskedAgainWithDoublingWaitsCappedAtTheMaxBackoff() throws Exception {
    FlakyRegistry registry = new FlakyRegistry(RegistryException.Kind.UNAVAILABLE, 9);
    try (CapturedLogs logs = CapturedLogs.capture()) {
      assertThat(holdBack.get(registry, "in partition 1 offset 7")).isEqualTo("schema");
      assertThat(clock.sleeps).containsExactly(200L, 400L, 800L, 1600L, 3200L, 6400L, 10_000L,
          10_000L, 10_000L);
      assertThat(registry.calls).isEqualTo(10);
      assertThat(holdBack.retries()).isEqualTo(9);
      assertThat(holdBack.waitedMillis()).isEqualTo(42_600);
      assertThat(holdBack.heldBack()).as("nothing held back once it answered").isZero();
      assertThat(logs.text()).containsOnlyOnce("schema registry at http://registry unreachable")
          .contains("holding records back, from in partition 1 offset 7")
          .containsOnlyOnce("answers again after 42600 ms and 9 retries");
    }
  }

  @Test
  void theJitterKeepsEachWaitWithinHalfAndOneAndAHalfOfTheBackoff() throws Exception {
    double[] draws = {0.0, 0.999};
    int[] next = {0};
    RegistryHoldBack jittered = new RegistryHoldBack(POLICY, "http://registry", null, clock,
        () -> draws[next[0]++ % 2]);
    jittered.get(new FlakyRegistry(RegistryException.Kind.UNAVAILABLE, 2), "r");
    assertThat(clock.sleeps).containsExactly(100L, 599L);
  }

  @Test
  void afterFailAfterOfWaitingForOneRecordTheTaskFailsSayingWhyAndNothingIsDeadLettered() {
    FlakyRegistry registry = new FlakyRegistry(RegistryException.Kind.UNAVAILABLE,
        Integer.MAX_VALUE);
    assertThatThrownBy(() -> holdBack.get(registry, "in partition 0 offset 3, schema id 42"))
        .isInstanceOf(RegistryHoldBack.RegistryOutageException.class)
        .hasMessageContaining("unreachable for 300 s while resolving in partition 0 offset 3,"
            + " schema id 42")
        .hasMessageContaining("registry.outage.fail-after is 5m")
        .hasMessageContaining("no record is dead-lettered or lost");
    long waited = clock.sleeps.stream().mapToLong(Long::longValue).sum();
    assertThat(waited).as("waits add up to fail-after exactly: the last one is cut short")
        .isEqualTo(Duration.ofMinutes(5).toMillis());
    assertThat(clock.sleeps).allSatisfy(s -> assertThat(s).isBetween(1L, 10_000L));
    assertThat(holdBack.heldBack()).isZero();
  }

  @Test
  void eachRecordGetsItsOwnFailAfterAndItsOwnBackoffFromTheStart() throws Exception {
    holdBack.get(new FlakyRegistry(RegistryException.Kind.UNAVAILABLE, 3), "first");
    clock.sleeps.clear();
    holdBack.get(new FlakyRegistry(RegistryException.Kind.UNAVAILABLE, 2), "second");
    assertThat(clock.sleeps).containsExactly(200L, 400L);
  }

  @Test
  void aFailureThatWaitingCannotFixFailsTheTaskAtOnce() {
    FlakyRegistry registry = new FlakyRegistry(RegistryException.Kind.UNAUTHORIZED, 1);
    assertThatThrownBy(() -> holdBack.get(registry, "r"))
        .isInstanceOf(RegistryHoldBack.RegistryOutageException.class)
        .hasMessageContaining("Not a problem of the record")
        .hasMessageContaining("check registry.url and the registry credentials");
    assertThat(clock.sleeps).isEmpty();
    assertThat(registry.calls).isEqualTo(1);
  }

  @Test
  void aBadRecordIsPassedOnAtOnceNeverRetried() {
    int[] calls = {0};
    assertThatThrownBy(() -> holdBack.get(() -> {
      calls[0]++;
      throw new WireFormatException.UnknownSchemaId("schema id 9 is not known", 9, null);
    }, "r")).isInstanceOf(WireFormatException.UnknownSchemaId.class);
    assertThat(calls[0]).isEqualTo(1);
    assertThat(clock.sleeps).isEmpty();
  }

  @Test
  void aCancelledTaskStopsWaitingAtOnce() {
    RegistryHoldBack.Clock interrupted = new FakeClock() {
      @Override
      public void sleep(long millis) {
        Thread.currentThread().interrupt(); // Flink cancels a task by interrupting its thread
      }
    };
    RegistryHoldBack cancelled =
        new RegistryHoldBack(POLICY, "http://registry", null, interrupted, () -> 0.5);
    FlakyRegistry registry = new FlakyRegistry(RegistryException.Kind.UNAVAILABLE, 100);
    try {
      assertThatThrownBy(() -> cancelled.get(registry, "r"))
          .isInstanceOf(RegistryHoldBack.RegistryOutageException.class)
          .hasMessageContaining("cancelled while waiting");
      assertThat(registry.calls).isEqualTo(2);
    } finally {
      assertThat(Thread.interrupted()).as("the interrupt is kept for Flink").isTrue();
    }
  }
}
