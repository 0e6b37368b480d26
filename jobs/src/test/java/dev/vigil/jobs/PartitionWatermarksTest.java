package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.util.clock.ManualClock;
import org.junit.jupiter.api.Test;

/** Idleness of one partition on a manual clock, emits every 50 ms as the source makes them. */
class PartitionWatermarksTest {
  final ManualClock clock = new ManualClock();
  final List<String> out = new ArrayList<>();
  final WatermarkOutput output = new WatermarkOutput() {
    @Override
    public void emitWatermark(Watermark watermark) {
      out.add("wm " + watermark.getTimestamp());
    }

    @Override
    public void markIdle() {
      out.add("idle");
    }

    @Override
    public void markActive() {
      out.add("active");
    }
  };
  final PartitionWatermarks partition =
      new PartitionWatermarks(Duration.ofMillis(500), Duration.ofSeconds(1), clock);

  @Test
  void aPartitionWithoutRecordsForTheIdleTimeoutIsIdle() {
    partition.onEvent(new RawRecord(), 10_000, output);
    runFor(Duration.ofMillis(1_100));
    assertThat(out).contains("idle");
  }

  @Test
  void timeTheTaskThreadWasBlockedIsNotQuietTimeAfterItsFirstRecord() {
    partition.onEvent(new RawRecord(), 10_000, output);
    runFor(Duration.ofMillis(200));
    clock.advanceTime(Duration.ofSeconds(30)); // a record held back: no emit can run
    runFor(Duration.ofMillis(200));
    assertThat(out).doesNotContain("idle");
    runFor(Duration.ofMillis(1_000));
    assertThat(out).as("quiet once the thread runs again").contains("idle");
  }

  @Test
  void timeTheTaskThreadWasBlockedIsNotQuietTimeBeforeItsFirstRecord() {
    runFor(Duration.ofMillis(200));
    clock.advanceTime(Duration.ofSeconds(30)); // every record of the reader held back
    runFor(Duration.ofSeconds(5));
    assertThat(out).as("still in its start-up grace").doesNotContain("idle");
  }

  private void runFor(Duration d) {
    for (long t = 0; t < d.toMillis(); t += 50) {
      clock.advanceTime(Duration.ofMillis(50));
      partition.onPeriodicEmit(output);
    }
  }
}
