package dev.vigil.transforms.batch;

import dev.vigil.transforms.io.EventFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/**
 * The event files of a batch backfill, in the order that defines "input order": a single file, or
 * every event file directly inside a directory (names starting with {@code .} or {@code _}
 * skipped), sorted by name. Formats as {@link EventFiles} reads them: JSON lines ({@code .jsonl},
 * {@code .json}, {@code .ndjson}) or Avro container files ({@code .avro}).
 *
 * <p>Every event gets a global <em>ordinal</em>, {@code fileIndex << 40 | position}, where position
 * is the byte offset of its line (JSON lines) or its record number (Avro): increasing in input
 * order, so ties in event time keep input order whatever split or subtask read the event. Hence
 * at most 2^23 files of at most 1 TiB each.
 */
public record InputFiles(List<Path> files) {
  static final int POSITION_BITS = 40;
  static final long MAX_POSITION = (1L << POSITION_BITS) - 1;
  static final int MAX_FILES = 1 << (63 - POSITION_BITS);

  public InputFiles {
    files = List.copyOf(files);
  }

  /** The ordinal of the event at {@code position} of file {@code fileIndex}. */
  static long ordinal(int fileIndex, long position) {
    return ((long) fileIndex << POSITION_BITS) | position;
  }

  /** Whether {@code file} is read as Avro (else JSON lines). */
  static boolean isAvro(String fileName) {
    return fileName.endsWith(".avro");
  }

  static boolean isEventFile(String fileName) {
    return isAvro(fileName) || fileName.endsWith(".jsonl") || fileName.endsWith(".json")
        || fileName.endsWith(".ndjson");
  }

  /** Total bytes of the files. */
  public long totalBytes() throws IOException {
    long total = 0;
    for (Path f : files) {
      total += Files.size(f);
    }
    return total;
  }

  /**
   * The files of {@code input}: the file itself, or the event files of the directory; fails with
   * what is wrong and how to fix it.
   */
  public static InputFiles of(Path input) throws EventFiles.BadInputException {
    if (Files.isRegularFile(input)) {
      String name = input.getFileName().toString();
      if (!isEventFile(name)) {
        throw new EventFiles.BadInputException(input + ": unknown input format; use .jsonl (JSON"
            + " lines) or .avro (Avro container file), or a directory of such files");
      }
      return checked(List.of(input.toAbsolutePath()), input);
    }
    if (!Files.isDirectory(input)) {
      throw new EventFiles.BadInputException(input + ": no such file or directory");
    }
    List<Path> found = new ArrayList<>();
    try (Stream<Path> list = Files.list(input)) {
      list.filter(Files::isRegularFile)
          .filter(p -> !p.getFileName().toString().startsWith(".")
              && !p.getFileName().toString().startsWith("_"))
          .filter(p -> isEventFile(p.getFileName().toString()))
          .sorted()
          .forEach(p -> found.add(p.toAbsolutePath()));
    } catch (IOException e) {
      throw new EventFiles.BadInputException(input + ": cannot list the directory: "
          + e.getMessage());
    }
    if (found.isEmpty()) {
      throw new EventFiles.BadInputException(input + ": a directory without event files; put"
          + " .jsonl or .avro files in it (subdirectories are not read)");
    }
    return checked(found, input);
  }

  private static InputFiles checked(List<Path> files, Path input)
      throws EventFiles.BadInputException {
    if (files.size() > MAX_FILES) {
      throw new EventFiles.BadInputException(input + ": " + files.size() + " files, more than the "
          + MAX_FILES + " one backfill reads; split the input");
    }
    for (Path f : files) {
      try {
        if (Files.size(f) > MAX_POSITION) {
          throw new EventFiles.BadInputException(f + ": larger than 1 TiB; split it into files"
              + " of at most 1 TiB");
        }
      } catch (IOException e) {
        throw new EventFiles.BadInputException(f + ": cannot read: " + e.getMessage());
      }
      if (!Files.isReadable(f)) {
        throw new EventFiles.BadInputException(f + ": not readable (check its permissions)");
      }
    }
    return new InputFiles(files);
  }
}
