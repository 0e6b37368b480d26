package dev.vigil.statetools;

import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;

/** Progress lines (a PrintStream API) onto picocli's error writer. */
final class WriterStream extends OutputStream {
  private final PrintWriter out;
  private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

  WriterStream(PrintWriter out) {
    this.out = out;
  }

  @Override
  public void write(int b) {
    line.write(b);
    if (b == '\n') {
      flush();
    }
  }

  @Override
  public void flush() {
    if (line.size() > 0) {
      out.print(line.toString(StandardCharsets.UTF_8));
      line.reset();
    }
    out.flush();
  }
}
