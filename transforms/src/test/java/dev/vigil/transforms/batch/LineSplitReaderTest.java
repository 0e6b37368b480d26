package dev.vigil.transforms.batch;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.flink.core.fs.FileSystem;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LineSplitReaderTest {
  @TempDir Path dir;

  record Line(long offset, String text) {}

  static List<Line> read(Path file, long start, long end) throws Exception {
    List<Line> lines = new ArrayList<>();
    try (LineSplitReader r = new LineSplitReader(FileSystem.getLocalFileSystem()
        .open(new org.apache.flink.core.fs.Path(file.toUri())), start, end)) {
      for (String s; (s = r.next()) != null; ) {
        lines.add(new Line(r.lineStart(), s));
      }
    }
    return lines;
  }

  /** A file of {@code n} lines with blank lines, CRLF, and (if {@code longLines}) lines over 64 KiB. */
  List<Line> write(Path file, int n, boolean longLines, long seed) throws Exception {
    Random random = new Random(seed);
    StringBuilder text = new StringBuilder();
    List<Line> expected = new ArrayList<>();
    long offset = 0;
    for (int i = 0; i < n; i++) {
      int kind = random.nextInt(20);
      String line;
      if (kind == 0) {
        line = "\n"; // blank: skipped
      } else if (kind == 1) {
        line = "   \r\n"; // blank, CRLF
      } else {
        String s = "{\"n\":" + i + ",\"s\":\""
            + "ü".repeat(kind == 2 && longLines ? 40_000 : random.nextInt(30)) + "\"}";
        expected.add(new Line(offset, s));
        line = s + (kind == 3 ? "\r\n" : "\n");
      }
      text.append(line);
      offset += line.getBytes(StandardCharsets.UTF_8).length;
    }
    String last = "{\"last\":\"no newline\"}";
    text.append(last);
    expected.add(new Line(offset, last));
    Files.writeString(file, text, StandardCharsets.UTF_8);
    return expected;
  }

  static List<Line> readInSplits(Path file, long split) throws Exception {
    long size = Files.size(file);
    List<Line> all = new ArrayList<>();
    for (long start = 0; start < size; start += split) {
      all.addAll(read(file, start, Math.min(size, start + split)));
    }
    return all;
  }

  @Test
  void splitsOfAnySizeReadEveryLineExactlyOnceAtItsOffset() throws Exception {
    Path file = dir.resolve("small.jsonl");
    List<Line> expected = write(file, 60, false, 3);
    for (long split = 1; split <= 40; split++) {
      assertThat(readInSplits(file, split)).as("splits of %d bytes", split).isEqualTo(expected);
    }
  }

  @Test
  void linesLongerThanTheBufferAreReadWholeByTheSplitTheyStartIn() throws Exception {
    Path file = dir.resolve("long.jsonl");
    List<Line> expected = write(file, 200, true, 4);
    long size = Files.size(file);
    assertThat(size).isGreaterThan(200_000);
    for (long split : new long[] {4096, 65_536, 100_000, size - 1, size}) {
      assertThat(readInSplits(file, split)).as("splits of %d bytes", split).isEqualTo(expected);
    }
  }
}
