package dev.vigil.transforms.batch;

import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.io.EventJson;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.flink.connector.file.src.FileSourceSplit;
import org.apache.flink.connector.file.src.reader.BulkFormat;
import org.apache.flink.connector.file.src.util.CheckpointedPosition;
import org.apache.flink.connector.file.src.util.IteratorResultIterator;
import org.apache.flink.core.fs.Path;

/**
 * The events of the lines starting in one split of a JSON-lines file, ordinal = file index and the
 * line's byte offset. A bad line fails with {@code file:line: what is wrong}; the line number is
 * counted from the file's start only then.
 */
final class JsonLinesSplitReader implements BulkFormat.Reader<FeatureEvent> {
  private final Path file;
  private final int fileIndex;
  private final EventJson json;
  private final LineSplitReader lines;
  private long read;

  JsonLinesSplitReader(FileSourceSplit split, int fileIndex, Schema schema) throws IOException {
    this.file = split.path();
    this.fileIndex = fileIndex;
    this.json = new EventJson(schema);
    this.lines = new LineSplitReader(file.getFileSystem().open(file), split.offset(),
        split.offset() + split.length());
  }

  @Override
  public BulkFormat.RecordIterator<FeatureEvent> readBatch() throws IOException {
    List<FeatureEvent> batch = new ArrayList<>(EventFileFormat.BATCH);
    String line;
    while (batch.size() < EventFileFormat.BATCH && (line = lines.next()) != null) {
      try {
        batch.add(new FeatureEvent(json.parse(line),
            InputFiles.ordinal(fileIndex, lines.lineStart()), 0));
      } catch (EventJson.BadEventException e) {
        throw new BadInputError(file.getPath() + ":" + lineNumber(lines.lineStart()) + ": "
            + e.getMessage());
      }
    }
    if (batch.isEmpty()) {
      return null;
    }
    long skip = read;
    read += batch.size();
    return new IteratorResultIterator<>(batch.iterator(), CheckpointedPosition.NO_OFFSET, skip);
  }

  /** The 1-based line number of the line starting at {@code offset} (reads the file up to it). */
  private long lineNumber(long offset) throws IOException {
    long line = 1;
    byte[] buf = new byte[1 << 16];
    try (InputStream in = file.getFileSystem().open(file)) {
      long at = 0;
      while (at < offset) {
        int n = in.read(buf, 0, (int) Math.min(buf.length, offset - at));
        if (n < 0) {
          break;
        }
        for (int i = 0; i < n; i++) {
          if (buf[i] == '\n') {
            line++;
          }
        }
        at += n;
      }
    }
    return line;
  }

  @Override
  public void close() throws IOException {
    lines.close();
  }
}
