package dev.vigil.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;

/**
 * Test-only: in attempt {@code attempt} (Flink's attempt number), fails the task when the first
 * checkpoint completes after it has passed a record on, once: the failure races the sinks'
 * commit of that checkpoint's transactions, which happens on the same notification in another
 * task. Leaves a file {@code commit-failure} in {@code markers}.
 */
final class FailOnCheckpointComplete extends RichMapFunction<RawRecord, RawRecord>
    implements CheckpointListener {
  private static final long serialVersionUID = 1L;
  private final int attempt;
  private final String markers;
  private transient boolean passedOne;

  FailOnCheckpointComplete(int attempt, Path markers) {
    this.attempt = attempt;
    this.markers = markers.toString();
  }

  @Override
  public RawRecord map(RawRecord r) {
    passedOne = true;
    return r;
  }

  @Override
  public void notifyCheckpointComplete(long checkpointId) throws IOException {
    Path marker = Path.of(markers, "commit-failure");
    if (passedOne && getRuntimeContext().getTaskInfo().getAttemptNumber() == attempt
        && !Files.exists(marker)) {
      Files.createDirectories(marker.getParent());
      Files.writeString(marker, Long.toString(checkpointId));
      throw new IllegalStateException("injected failure as checkpoint " + checkpointId
          + " completes");
    }
  }
}
