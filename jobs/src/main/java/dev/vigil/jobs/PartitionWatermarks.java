package dev.vigil.jobs;

import org.apache.flink.api.common.eventtime.BoundedOutOfOrdernessWatermarks;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.util.clock.RelativeClock;

/**
 * One input partition's watermark: its newest event time less the bound, and idleness that does
 * not mistake a partition that has not started for a quiet one. A partition with no record for
 * {@code idleTimeout} stops holding the watermark back, but before its first record it gets
 * {@code startupGrace}: in a catch-up, or on a loaded machine, a reader that is a few seconds late
 * to its first fetch would otherwise be declared idle, the watermark would pass its events, and
 * every one of them would arrive late (seen: nearly every merchant value wrong in one run of
 * {@code ExactAtScaleITCase}). The clock is the source's input-activity clock, which stops while
 * the split is paused (alignment, back pressure).
 *
 * <p>It does not stop while the task thread itself is blocked, as when the deserializer holds a
 * record back during a schema-registry outage ({@link RegistryHoldBack}): no record of any split
 * could be read then, yet every other partition would look quiet and be declared idle at the
 * first periodic emit afterwards, the watermark would pass their waiting records, and they would
 * all be late. So a gap between two periodic emits longer than the idle timeout (the emit timer
 * could not run: the thread was blocked) is not counted as quiet time.
 */
final class PartitionWatermarks implements WatermarkGenerator<RawRecord> {
  private final BoundedOutOfOrdernessWatermarks<RawRecord> bounded;
  private final RelativeClock clock;
  private final long idleTimeout;
  private final long startupGrace;
  private long created;
  private long lastRecord = -1;
  private long lastEmit = -1;
  private boolean idle;

  PartitionWatermarks(java.time.Duration outOfOrderness, java.time.Duration idleTimeout,
      RelativeClock clock) {
    this.bounded = new BoundedOutOfOrdernessWatermarks<>(outOfOrderness);
    this.clock = clock;
    this.idleTimeout = idleTimeout.toMillis();
    this.startupGrace = Math.max(10_000, 10 * this.idleTimeout);
    this.created = clock.relativeTimeMillis();
  }

  @Override
  public void onEvent(RawRecord event, long eventTimestamp, WatermarkOutput output) {
    lastRecord = clock.relativeTimeMillis();
    if (idle) {
      idle = false;
      output.markActive();
    }
    bounded.onEvent(event, eventTimestamp, output);
  }

  @Override
  public void onPeriodicEmit(WatermarkOutput output) {
    long now = clock.relativeTimeMillis();
    if (lastEmit >= 0 && now - lastEmit > idleTimeout) {
      long blocked = now - lastEmit; // nothing could be read meanwhile: not quiet time
      created += blocked;
      if (lastRecord >= 0) {
        lastRecord += blocked;
      }
    }
    lastEmit = now;
    boolean quiet = lastRecord < 0 ? now - created >= startupGrace
        : now - lastRecord >= idleTimeout;
    if (quiet) {
      if (!idle) {
        idle = true;
        output.markIdle();
      }
      return;
    }
    bounded.onPeriodicEmit(output);
  }
}
