package dev.vigil.transforms.batch;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import org.apache.flink.connector.file.src.FileSourceSplit;
import org.apache.flink.connector.file.src.enumerate.FileEnumerator;
import org.apache.flink.core.fs.FileStatus;
import org.apache.flink.core.fs.Path;

/**
 * Splits the input files for parallel reading: a JSON-lines file into byte ranges of about {@code
 * splitBytes} (each line belongs to the range its first byte is in, {@link LineSplitReader}), an
 * Avro file whole, empty files not at all. The paths come in {@link InputFiles} order; each split's
 * id is {@code <file index>-<n>}, so a reader knows the file's place in the input order.
 */
final class EventSplits implements FileEnumerator {
  private final long splitBytes;

  EventSplits(long splitBytes) {
    if (splitBytes < 1) {
      throw new IllegalArgumentException("split size must be at least 1 byte, got " + splitBytes);
    }
    this.splitBytes = splitBytes;
  }

  /** A provider of this enumerator for {@code FileSource.setFileEnumerator}. */
  static FileEnumerator.Provider provider(long splitBytes) {
    return new Provider(splitBytes);
  }

  @Override
  public Collection<FileSourceSplit> enumerateSplits(Path[] paths, int minDesiredSplits)
      throws IOException {
    List<FileSourceSplit> splits = new ArrayList<>();
    for (int i = 0; i < paths.length; i++) {
      Path file = paths[i];
      FileStatus status = file.getFileSystem().getFileStatus(file);
      long len = status.getLen();
      if (len == 0) {
        continue;
      }
      long step = InputFiles.isAvro(file.getName()) ? len : splitBytes;
      int n = 0;
      for (long offset = 0; offset < len; offset += step) {
        splits.add(new FileSourceSplit(i + "-" + n++, file, offset, Math.min(step, len - offset),
            status.getModificationTime(), len));
      }
    }
    return splits;
  }

  /** The index of the split's file in the input order. */
  static int fileIndexOf(FileSourceSplit split) {
    String id = split.splitId();
    return Integer.parseInt(id, 0, id.indexOf('-'), 10);
  }

  private static final class Provider implements FileEnumerator.Provider {
    private static final long serialVersionUID = 1L;
    private final long splitBytes;

    Provider(long splitBytes) {
      this.splitBytes = splitBytes;
    }

    @Override
    public FileEnumerator create() {
      return new EventSplits(splitBytes);
    }
  }
}
