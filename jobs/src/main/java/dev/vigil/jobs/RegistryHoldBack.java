package dev.vigil.jobs;

import dev.vigil.schemas.registry.RegistryException;
import dev.vigil.schemas.serde.WireFormatException;
import dev.vigil.transforms.spec.Durations;
import java.io.Serializable;
import java.time.Duration;
import java.util.Objects;
import java.util.function.DoubleSupplier;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.SimpleCounter;
import org.apache.flink.metrics.groups.UnregisteredMetricsGroup;
import org.apache.flink.util.FlinkRuntimeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Holds a record back while the schema registry cannot be reached, instead of dead-lettering it:
 * a registry that is down is not the record's fault. One per decoding subtask, used from its task
 * thread only.
 *
 * <p>A lookup that fails with {@link RegistryException.Kind#UNAVAILABLE} (connection refused,
 * timeout, 5xx) is retried with capped exponential backoff ({@code registry.retry.backoff},
 * doubling with jitter up to {@code registry.retry.max-backoff}). The wait blocks the calling
 * thread, on purpose: it is the source's task thread, so the source stops reading (back pressure,
 * consumer lag grows) and no record is reordered or skipped. It also blocks checkpoints: no
 * barrier passes a blocked source, and an exactly-once sink's open transaction ages meanwhile. So
 * after {@code registry.outage.fail-after} of waiting for one record the task fails, with a message
 * saying why, and Flink's restart strategy restores the job from its last completed checkpoint
 * (nothing lost, nothing duplicated, the broker never aborts a transaction under it); the restarted
 * subtask waits again. Any other registry failure (401/403, an answer that is not the registry's
 * API) fails the task at once: waiting does not fix credentials or a URL, a restart re-reads the
 * secrets. A 404 is not seen here: the deserializer turns it into {@code unknown_schema_id}, a
 * dead letter.
 *
 * <p>Per outage, not per record: one WARN line when the subtask starts waiting, one INFO line when
 * the registry answers again. Metrics, in group {@code vigil.registry}: {@code retries} (lookups
 * retried), {@code waited_ms} (time spent waiting), {@code held_back} (1 while a record waits).
 */
public final class RegistryHoldBack {
  private static final Logger LOG = LoggerFactory.getLogger(RegistryHoldBack.class);

  /**
   * How long and how often to retry.
   *
   * @param initialBackoff the first wait; each next one doubles (with jitter of ±50%)
   * @param maxBackoff cap on one wait
   * @param failAfter how long one record may be held back before the task fails
   */
  public record Policy(Duration initialBackoff, Duration maxBackoff, Duration failAfter)
      implements Serializable {
    public Policy {
      Objects.requireNonNull(initialBackoff, "initialBackoff");
      Objects.requireNonNull(maxBackoff, "maxBackoff");
      Objects.requireNonNull(failAfter, "failAfter");
      if (initialBackoff.isNegative() || initialBackoff.isZero()
          || maxBackoff.compareTo(initialBackoff) < 0 || failAfter.isNegative()
          || failAfter.isZero()) {
        throw new IllegalArgumentException("registry hold-back needs 0 < initialBackoff <="
            + " maxBackoff and failAfter > 0, was " + initialBackoff + ", " + maxBackoff + ", "
            + failAfter);
      }
    }
  }

  /** Time and waiting, a seam for tests. */
  interface Clock {
    long nanoTime();

    void sleep(long millis) throws InterruptedException;

    Clock SYSTEM = new Clock() {
      @Override
      public long nanoTime() {
        return System.nanoTime();
      }

      @Override
      public void sleep(long millis) throws InterruptedException {
        Thread.sleep(millis);
      }
    };
  }

  /** One lookup, retried as a whole: the deserialization of one record. */
  @FunctionalInterface
  public interface Lookup<T> {
    T get() throws WireFormatException;
  }

  /** The task gives up on a registry outage (or a registry failure waiting cannot fix). */
  public static final class RegistryOutageException extends FlinkRuntimeException {
    private static final long serialVersionUID = 1L;

    RegistryOutageException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  private final Policy policy;
  private final String registryUrl;
  private final Clock clock;
  private final DoubleSupplier random;
  private final Counter retries;
  private final Counter waitedMs;
  private volatile int heldBack;
  /** Whether the WARN line of the current outage was written (and the INFO line is owed). */
  private boolean outage;
  private long outageStarted;
  private long outageRetries;

  public RegistryHoldBack(Policy policy, String registryUrl, MetricGroup metrics) {
    this(policy, registryUrl, metrics, Clock.SYSTEM,
        () -> java.util.concurrent.ThreadLocalRandom.current().nextDouble());
  }

  RegistryHoldBack(Policy policy, String registryUrl, MetricGroup metrics, Clock clock,
      DoubleSupplier random) {
    this.policy = policy;
    this.registryUrl = registryUrl;
    this.clock = clock;
    this.random = random;
    MetricGroup group = (metrics == null ? new UnregisteredMetricsGroup() : metrics)
        .addGroup("vigil").addGroup("registry");
    this.retries = group.counter("retries", new SimpleCounter());
    this.waitedMs = group.counter("waited_ms", new SimpleCounter());
    group.gauge("held_back", (Gauge<Integer>) () -> heldBack);
  }

  /**
   * {@code lookup}'s value; while it fails with the registry unreachable, waits and asks again.
   *
   * @param what the record, for the log and the failure ("partition 3 offset 17, schema id 42")
   * @throws WireFormatException the record is bad (passed through, never retried)
   * @throws RegistryOutageException the registry stayed unreachable for {@code failAfter}, failed
   *     in a way waiting cannot fix, or the task was cancelled while waiting
   */
  public <T> T get(Lookup<T> lookup, String what) throws WireFormatException {
    long started = 0;
    long backoffMillis = policy.initialBackoff().toMillis();
    try {
      while (true) {
        RegistryException failure;
        try {
          T value = lookup.get();
          recovered();
          return value;
        } catch (WireFormatException e) {
          recovered(); // the registry answered (a 404 is an answer): the record is bad
          throw e;
        } catch (RegistryException e) {
          failure = e;
        }
        if (Thread.currentThread().isInterrupted()) {
          throw new RegistryOutageException("cancelled while waiting for the schema registry at "
              + registryUrl + " (" + what + ")", failure);
        }
        if (failure.kind() != RegistryException.Kind.UNAVAILABLE) {
          throw new RegistryOutageException("schema registry at " + registryUrl + " failed for "
              + what + ": " + failure.getMessage() + ". Not a problem of the record (it is not"
              + " dead-lettered) and not one that waiting fixes: check registry.url and the"
              + " registry credentials; the job restarts from its last checkpoint", failure);
        }
        long now = clock.nanoTime();
        if (heldBack == 0) {
          started = now;
          heldBack = 1;
          if (!outage) {
            outage = true;
            outageStarted = now;
            outageRetries = 0;
            LOG.warn("schema registry at {} unreachable ({}); holding records back, from {},"
                + " retrying with backoff up to {}; the task fails after {} of waiting for one"
                + " record and restarts from its last checkpoint (nothing is dead-lettered)",
                registryUrl, failure.getMessage(), what,
                Durations.format(policy.maxBackoff().toMillis()),
                Durations.format(policy.failAfter().toMillis()));
          }
        }
        long waited = (now - started) / 1_000_000;
        long left = policy.failAfter().toMillis() - waited;
        if (left <= 0) {
          throw new RegistryOutageException(String.format(java.util.Locale.ROOT,
              "schema registry at %s unreachable for %d s while resolving %s (last: %s);"
                  + " registry.outage.fail-after is %s. Failing the task so that Flink restarts"
                  + " the job from its last checkpoint: no record is dead-lettered or lost. Bring"
                  + " the registry back (or fix registry.url); Flink's restart strategy decides"
                  + " how often the job tries again",
              registryUrl, waited / 1000, what, failure.getMessage(),
              Durations.format(policy.failAfter().toMillis())),
              failure);
        }
        long sleep = Math.min(left,
            Math.max(1, (long) (backoffMillis * (0.5 + random.getAsDouble()))));
        clock.sleep(sleep);
        waitedMs.inc(sleep);
        retries.inc();
        outageRetries++;
        backoffMillis = Math.min(backoffMillis * 2, policy.maxBackoff().toMillis());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryOutageException("cancelled while waiting for the schema registry at "
          + registryUrl + " (" + what + ")", e);
    } finally {
      heldBack = 0;
    }
  }

  private void recovered() {
    if (outage) {
      outage = false;
      LOG.info("schema registry at {} answers again after {} ms and {} retries; records flow"
          + " again", registryUrl, (clock.nanoTime() - outageStarted) / 1_000_000, outageRetries);
    }
  }

  /** Whether a record is being held back now (the {@code held_back} gauge). */
  int heldBack() {
    return heldBack;
  }

  long retries() {
    return retries.getCount();
  }

  long waitedMillis() {
    return waitedMs.getCount();
  }
}
