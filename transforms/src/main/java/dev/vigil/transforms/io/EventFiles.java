package dev.vigil.transforms.io;

import java.io.Closeable;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.apache.avro.Schema;
import org.apache.avro.file.DataFileStream;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.specific.SpecificData;

/** Reads events from JSON lines ({@code .jsonl}) or Avro container files ({@code .avro}). */
public final class EventFiles {
  private EventFiles() {}

  /** A file of events that cannot be read; the message names file, line and field. */
  public static final class BadInputException extends Exception {
    private static final long serialVersionUID = 1L;

    public BadInputException(String message) {
      super(message);
    }
  }

  /** A pull reader of events, counting bytes read for progress. */
  public interface Reader extends Closeable {
    /** The next event, or null at the end. */
    IndexedRecord next() throws BadInputException;

    /** Bytes of the file consumed so far. */
    long bytesRead();

    /** Where the last event came from, e.g. {@code events.jsonl:42}. */
    String position();
  }

  public static Reader open(Path file, Schema schema) throws BadInputException {
    String name = file.getFileName().toString();
    CountingInput in;
    try {
      in = new CountingInput(Files.newInputStream(file));
    } catch (NoSuchFileException e) {
      throw new BadInputException(file + ": no such file");
    } catch (IOException e) {
      throw new BadInputException(file + ": cannot read: " + e.getMessage());
    }
    if (name.endsWith(".jsonl") || name.endsWith(".json") || name.endsWith(".ndjson")) {
      return new JsonLines(file, in, new EventJson(schema));
    }
    if (name.endsWith(".avro")) {
      try {
        GenericDatumReader<IndexedRecord> datum =
            new GenericDatumReader<>(null, schema, SpecificData.getForSchema(schema));
        return new AvroFile(file, in, new DataFileStream<>(in, datum));
      } catch (IOException e) {
        throw new BadInputException(file + ": not an Avro container file: " + e.getMessage());
      }
    }
    throw new BadInputException(file + ": unknown input format; use .jsonl (JSON lines) or .avro"
        + " (Avro container file)");
  }

  private static final class CountingInput extends FilterInputStream {
    long count;

    CountingInput(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) {
        count++;
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) {
        count += n;
      }
      return n;
    }
  }

  private static final class JsonLines implements Reader {
    private final Path file;
    private final CountingInput counting;
    private final JsonLinesReader lines;

    JsonLines(Path file, CountingInput in, EventJson json) {
      this.file = file;
      this.counting = in;
      this.lines = new JsonLinesReader(file.toString(), in, json);
    }

    @Override
    public IndexedRecord next() throws BadInputException {
      try {
        return lines.next();
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }

    @Override
    public long bytesRead() {
      return counting.count;
    }

    @Override
    public String position() {
      return file + ":" + lines.lineNumber();
    }

    @Override
    public void close() throws IOException {
      lines.close();
    }
  }

  private static final class AvroFile implements Reader {
    private final Path file;
    private final CountingInput counting;
    private final DataFileStream<IndexedRecord> stream;
    private long n;

    AvroFile(Path file, CountingInput in, DataFileStream<IndexedRecord> stream) {
      this.file = file;
      this.counting = in;
      this.stream = stream;
    }

    @Override
    public IndexedRecord next() throws BadInputException {
      try {
        if (!stream.hasNext()) {
          return null;
        }
        n++;
        return stream.next();
      } catch (RuntimeException e) {
        throw new BadInputException(file + ": record " + (n + 1) + ": " + e.getMessage());
      }
    }

    @Override
    public long bytesRead() {
      return counting.count;
    }

    @Override
    public String position() {
      return file + ": record " + n;
    }

    @Override
    public void close() throws IOException {
      stream.close();
    }
  }
}
