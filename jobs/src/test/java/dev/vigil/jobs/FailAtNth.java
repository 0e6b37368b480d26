package dev.vigil.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Test-only ({@link ElementProbe}): in attempt {@code attempt} (Flink's attempt number), fails
 * the task at the {@code n}-th element one subtask handles in that attempt. Leaves a file {@code
 * failure-<where>} in {@code markers} for the test to count.
 */
final class FailAtNth<T> implements ElementProbe<T> {
  private static final long serialVersionUID = 1L;
  private final int attempt;
  private final int n;
  private final String markers;
  private final String where;
  private int seen; // this subtask's copy, this attempt's

  FailAtNth(int attempt, int n, Path markers, String where) {
    this.attempt = attempt;
    this.n = n;
    this.markers = markers.toString();
    this.where = where;
  }

  @Override
  public void before(T element, int attempt) throws IOException {
    if (attempt == this.attempt && ++seen == n) {
      Files.createDirectories(Path.of(markers));
      Files.writeString(Path.of(markers, "failure-" + where.replace(' ', '-')), element.toString());
      throw new IllegalStateException("injected failure in the " + where + " at element " + n
          + " of attempt " + attempt);
    }
  }
}
