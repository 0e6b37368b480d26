package dev.vigil.transforms.batch;

import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.offline.Backfill;
import java.io.IOException;
import java.nio.file.Path;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.types.Row;

/**
 * Sink V2 of the joined rows: subtask {@code i} writes {@code part-<i>} ({@link PartFiles}) in the
 * run's {@code .partial} directory, from its parts sorted by event time ({@link RowAssembler}). The
 * file is opened when the writer starts, so a subtask without rows still writes a valid, empty
 * part; it is complete only at the end of the input. The directory becomes the output only when
 * the whole job succeeded ({@link OutputDirectory}).
 */
final class PartSink implements Sink<Row> {
  private static final long serialVersionUID = 1L;
  private final String dir;
  private final PartFiles parts;
  private final int featureCount;
  private final int[][] slots;

  PartSink(Path dir, PartFiles parts, int featureCount, int[][] slots) {
    this.dir = dir.toAbsolutePath().toString();
    this.parts = parts;
    this.featureCount = featureCount;
    this.slots = slots;
  }

  @Override
  public SinkWriter<Row> createWriter(WriterInitContext context) throws IOException {
    int index = context.getTaskInfo().getIndexOfThisSubtask();
    Path file = Path.of(dir).resolve(parts.name(index));
    return new Writer(parts.open(file), new RowAssembler(featureCount, slots));
  }

  private static final class Writer implements SinkWriter<Row> {
    private final Backfill.RowSink out;
    private final RowAssembler rows;
    private boolean closed;

    Writer(Backfill.RowSink out, RowAssembler rows) {
      this.out = out;
      this.rows = rows;
    }

    @Override
    public void write(Row part, Context context) throws IOException {
      for (FeatureRow row : rows.add(part)) {
        out.write(row);
      }
    }

    @Override
    public void flush(boolean endOfInput) throws IOException {
      if (!endOfInput || closed) {
        return;
      }
      for (FeatureRow row : rows.finish()) {
        out.write(row);
      }
      closed = true;
      out.close();
    }

    @Override
    public void close() throws IOException {
      if (!closed) {
        closed = true;
        out.close(); // a failed run: the directory is deleted, never renamed
      }
    }
  }
}
