package dev.vigil.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.flink.api.common.functions.RichMapFunction;

/**
 * Test-only: fails the job on the record at {@code offsets[a]} in attempt {@code a} (Flink's
 * attempt number, so each restart fails at the next offset; after the last, records pass). Leaves
 * a file {@code failure-<a>} in {@code markers} for each failure, for the test to count.
 */
final class FailAtOffsets extends RichMapFunction<RawRecord, RawRecord> {
  private static final long serialVersionUID = 1L;
  private final long[] offsets;
  private final String markers;

  FailAtOffsets(long[] offsets, Path markers) {
    this.offsets = offsets;
    this.markers = markers.toString();
  }

  @Override
  public RawRecord map(RawRecord r) throws IOException {
    int attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
    if (attempt < offsets.length && r.offset == offsets[attempt]) {
      Files.createDirectories(Path.of(markers));
      Files.writeString(Path.of(markers, "failure-" + attempt), Long.toString(r.offset));
      throw new IllegalStateException("injected failure " + attempt + " at offset " + r.offset);
    }
    return r;
  }
}
