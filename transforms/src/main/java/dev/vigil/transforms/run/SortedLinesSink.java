package dev.vigil.transforms.run;

import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.java.tuple.Tuple3;

/**
 * Writes the lines of a bounded run to one local file, sorted by (event time, input line), at the
 * end of the input. For {@code vigil run} on a local MiniCluster only: it runs at parallelism 1 and
 * holds the lines in memory until the input ends (a few hundred bytes per event), so the output
 * order does not depend on the parallelism or on how the stages' outputs interleave. Nothing is
 * written if the job fails before its input ends.
 */
public final class SortedLinesSink implements Sink<Tuple3<Long, Long, String>> {
  private static final long serialVersionUID = 1L;
  private final String file;

  public SortedLinesSink(Path file) {
    this.file = file.toAbsolutePath().toString();
  }

  @Override
  public SinkWriter<Tuple3<Long, Long, String>> createWriter(WriterInitContext context) {
    if (context.getTaskInfo().getNumberOfParallelSubtasks() != 1) {
      throw new IllegalStateException("SortedLinesSink must run at parallelism 1, not "
          + context.getTaskInfo().getNumberOfParallelSubtasks());
    }
    return new Writer(Path.of(file));
  }

  private static final class Writer implements SinkWriter<Tuple3<Long, Long, String>> {
    private final Path file;
    private final List<Tuple3<Long, Long, String>> lines = new ArrayList<>();

    Writer(Path file) {
      this.file = file;
    }

    @Override
    public void write(Tuple3<Long, Long, String> line, Context context) {
      lines.add(line);
    }

    @Override
    public void flush(boolean endOfInput) throws IOException {
      if (!endOfInput) {
        return; // a checkpoint: the lines are only complete at the end of the input
      }
      lines.sort(Comparator.<Tuple3<Long, Long, String>>comparingLong(l -> l.f0)
          .thenComparingLong(l -> l.f1));
      try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
        for (Tuple3<Long, Long, String> l : lines) {
          w.write(l.f2);
          w.write('\n');
        }
      }
      lines.clear();
    }

    @Override
    public void close() {
      lines.clear();
    }
  }
}
