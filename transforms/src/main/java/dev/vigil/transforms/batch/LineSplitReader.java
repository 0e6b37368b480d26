package dev.vigil.transforms.batch;

import java.io.Closeable;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.apache.flink.core.fs.FSDataInputStream;

/**
 * The lines of a byte range {@code [start, end)} of a file: every line whose first byte lies in
 * the range, read to its end even past {@code end}. Splits that tile a file therefore read each
 * line exactly once (the rule of Hadoop's line reader, with half-open ranges). Blank lines are
 * skipped, a trailing {@code \r} dropped, as {@code JsonLinesReader} does.
 *
 * <pre>
 * for (String line; (line = reader.next()) != null; ) { long at = reader.lineStart(); ... }
 * </pre>
 */
final class LineSplitReader implements Closeable {
  private final FSDataInputStream in;
  private final long end;
  private final byte[] buf = new byte[1 << 16];
  /** File offset of {@code buf[0]}. */
  private long bufStart;
  private int pos;
  private int limit;
  /** A line that spans buffer refills. */
  private byte[] carry = new byte[256];
  private long lineStart = -1;

  /** Reads the lines starting in {@code [start, end)} of {@code in}, which it seeks and closes. */
  LineSplitReader(FSDataInputStream in, long start, long end) throws IOException {
    this.in = in;
    this.end = end;
    if (start == 0) {
      in.seek(0);
      bufStart = 0;
      return;
    }
    // The line that holds byte start-1 began before the range: skip to the byte after its '\n'.
    in.seek(start - 1);
    bufStart = start - 1;
    while (true) {
      if (pos == limit && !fill()) {
        return;
      }
      int nl = indexOfNewline(pos);
      if (nl >= 0) {
        pos = nl + 1;
        return;
      }
      pos = limit;
    }
  }

  /** The next non-blank line that starts in the range, without its line break; null after. */
  String next() throws IOException {
    while (true) {
      long start = bufStart + pos;
      if (start >= end) {
        return null;
      }
      if (pos == limit && !fill()) {
        return null;
      }
      start = bufStart + pos;
      if (start >= end) {
        return null;
      }
      String line = readLine();
      lineStart = start;
      if (!line.isBlank()) {
        return line;
      }
    }
  }

  /** The file offset of the first byte of the line {@link #next} returned last. */
  long lineStart() {
    return lineStart;
  }

  /** Reads from {@code pos} (at least one byte available) to the next '\n' or the file's end. */
  private String readLine() throws IOException {
    int nl = indexOfNewline(pos);
    if (nl >= 0) { // the common case: the whole line is in the buffer
      String s = decode(buf, pos, nl);
      pos = nl + 1;
      return s;
    }
    int len = 0;
    while (true) {
      int n = limit - pos;
      if (len + n > carry.length) {
        carry = Arrays.copyOf(carry, Math.max(carry.length * 2, len + n));
      }
      System.arraycopy(buf, pos, carry, len, n);
      len += n;
      pos = limit;
      if (!fill()) {
        return decode(carry, 0, len);
      }
      nl = indexOfNewline(pos);
      if (nl >= 0) {
        n = nl - pos;
        if (len + n > carry.length) {
          carry = Arrays.copyOf(carry, Math.max(carry.length * 2, len + n));
        }
        System.arraycopy(buf, pos, carry, len, n);
        len += n;
        pos = nl + 1;
        return decode(carry, 0, len);
      }
    }
  }

  private static String decode(byte[] bytes, int from, int to) {
    if (to > from && bytes[to - 1] == '\r') {
      to--;
    }
    return new String(bytes, from, to - from, StandardCharsets.UTF_8);
  }

  private int indexOfNewline(int from) {
    for (int i = from; i < limit; i++) {
      if (buf[i] == '\n') {
        return i;
      }
    }
    return -1;
  }

  /** Refills the buffer; false at the end of the file. */
  private boolean fill() throws IOException {
    bufStart += limit;
    pos = 0;
    limit = 0;
    int n;
    do {
      n = in.read(buf, 0, buf.length);
    } while (n == 0);
    if (n < 0) {
      return false;
    }
    limit = n;
    return true;
  }

  @Override
  public void close() throws IOException {
    in.close();
  }
}
