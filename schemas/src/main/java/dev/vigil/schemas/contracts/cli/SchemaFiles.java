package dev.vigil.schemas.contracts.cli;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;

/** Reads {@code .avsc} files with errors a person can act on: file, line, column, reason. */
public final class SchemaFiles {
  private SchemaFiles() {}

  /** A schema file that cannot be used. */
  public static final class BadSchemaFile extends Exception {
    private static final long serialVersionUID = 1L;

    BadSchemaFile(String message) {
      super(message);
    }
  }

  public static Schema read(Path file) throws BadSchemaFile {
    String text;
    try {
      text = Files.readString(file);
    } catch (NoSuchFileException e) {
      throw new BadSchemaFile(file + ": no such file");
    } catch (IOException e) {
      throw new BadSchemaFile(file + ": cannot read: " + e.getMessage());
    }
    return parse(text, file.toString());
  }

  public static Schema parse(String text, String source) throws BadSchemaFile {
    try {
      return new Schema.Parser().parse(text);
    } catch (SchemaParseException e) {
      JsonProcessingException json = jsonCause(e);
      if (json != null) {
        JsonLocation at = json.getLocation();
        throw new BadSchemaFile(
            source + ":" + (at == null ? "?" : at.getLineNr() + ":" + at.getColumnNr())
                + ": malformed schema JSON: " + json.getOriginalMessage());
      }
      throw new BadSchemaFile(source + ": not a valid Avro schema: " + e.getMessage());
    } catch (RuntimeException e) {
      // Avro reports some invalid schemas (bad defaults, bad names) with other exception types.
      throw new BadSchemaFile(source + ": not a valid Avro schema: " + e.getMessage());
    }
  }

  private static JsonProcessingException jsonCause(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t instanceof JsonProcessingException j) {
        return j;
      }
    }
    return null;
  }
}
