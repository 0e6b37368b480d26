package dev.vigil.transforms.io;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import org.apache.avro.generic.IndexedRecord;

/**
 * Events from JSON lines, one per line, blank lines skipped; a bad line fails with
 * {@code file:line: what is wrong}. Shared by the offline reader and the Flink file source.
 */
public final class JsonLinesReader implements Closeable {
  private final String file;
  private final BufferedReader lines;
  private final EventJson json;
  /** Lines are {@code <line number> <json>} (a split of a larger file, its line numbers kept). */
  private final boolean numbered;
  private long lineNo;

  public JsonLinesReader(String file, InputStream in, EventJson json) {
    this(file, in, json, false);
  }

  /** With {@code numbered}, each line is {@code <original line number> <json>}. */
  public JsonLinesReader(String file, InputStream in, EventJson json, boolean numbered) {
    this.file = file;
    this.lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
    this.json = json;
    this.numbered = numbered;
  }

  /** The next event, or null at the end of the file. */
  public IndexedRecord next() throws IOException, EventFiles.BadInputException {
    String line;
    do {
      line = lines.readLine();
      lineNo++;
      if (line == null) {
        return null;
      }
    } while (line.isBlank());
    if (numbered) {
      int space = line.indexOf(' ');
      lineNo = Long.parseLong(line, 0, space, 10);
      line = line.substring(space + 1);
    }
    try {
      return json.parse(line);
    } catch (EventJson.BadEventException e) {
      throw new EventFiles.BadInputException(file + ":" + lineNo + ": " + e.getMessage());
    }
  }

  /** The line of the last event read (1-based). */
  public long lineNumber() {
    return lineNo;
  }

  @Override
  public void close() throws IOException {
    lines.close();
  }
}
