package dev.vigil.transforms.batch;

import dev.vigil.transforms.io.EventFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * The output directory of a batch backfill, written as {@code <out>.partial} and renamed to {@code
 * <out>} (one atomic rename) only after the job succeeded: a failed or killed run leaves at most
 * the {@code .partial} directory, never an {@code <out>} that looks complete. Only directories that
 * hold nothing but part files ({@link PartFiles#NAME}) are ever deleted or replaced, so a mistyped
 * {@code --output} cannot remove anything else.
 */
final class OutputDirectory {
  private final Path target;
  private final Path partial;

  private OutputDirectory(Path target) {
    this.target = target;
    this.partial = target.resolveSibling(target.getFileName() + ".partial");
  }

  /**
   * Checks that {@code out} may be written (absent, or a previous backfill's part files) and
   * creates an empty {@code out.partial} (a stale one, of part files only, is removed first).
   */
  static OutputDirectory prepare(Path out) throws EventFiles.BadInputException {
    OutputDirectory d = new OutputDirectory(out.toAbsolutePath());
    try {
      if (Files.exists(d.target) && !onlyParts(d.target)) {
        throw new EventFiles.BadInputException(out + ": exists and is not a backfill's output"
            + " directory (only part-NNNNN files); choose another --output or remove it");
      }
      if (Files.exists(d.partial)) {
        if (!onlyParts(d.partial)) {
          throw new EventFiles.BadInputException(d.partial + ": left over, and holds more than"
              + " part files; remove it");
        }
        delete(d.partial);
      }
      Files.createDirectories(d.partial);
    } catch (IOException e) {
      throw new EventFiles.BadInputException(out + ": cannot create the output directory "
          + d.partial + ": " + e.getMessage());
    }
    return d;
  }

  /** Where the job writes its parts. */
  Path partial() {
    return partial;
  }

  Path target() {
    return target;
  }

  /** Makes the parts the output: replaces a previous output, then renames atomically. */
  void commit() throws IOException {
    Path old = null;
    if (Files.exists(target)) {
      old = target.resolveSibling(target.getFileName() + ".replaced-" + System.nanoTime());
      Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
    }
    try {
      Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      if (old != null) {
        Files.move(old, target, StandardCopyOption.ATOMIC_MOVE); // the previous output, back
      }
      throw e;
    }
    if (old != null) {
      delete(old);
    }
  }

  /** Removes the partial output of a failed run. */
  void abort() {
    try {
      if (Files.exists(partial) && onlyParts(partial)) {
        delete(partial);
      }
    } catch (IOException e) {
      // Nothing that looks complete is left either way: a .partial directory is never output.
    }
  }

  /** The part files in {@code dir}, in name order (= output order). */
  static List<Path> parts(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> PartFiles.NAME.matcher(p.getFileName().toString()).matches())
          .sorted().toList();
    }
  }

  private static boolean onlyParts(Path dir) throws IOException {
    if (!Files.isDirectory(dir)) {
      return false;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.allMatch(p -> Files.isRegularFile(p)
          && PartFiles.NAME.matcher(p.getFileName().toString()).matches());
    }
  }

  private static void delete(Path dir) throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
