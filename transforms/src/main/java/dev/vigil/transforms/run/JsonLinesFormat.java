package dev.vigil.transforms.run;

import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.FeatureEventTypeInfo;
import dev.vigil.transforms.io.EventFiles;
import dev.vigil.transforms.io.EventJson;
import dev.vigil.transforms.io.JsonLinesReader;
import java.io.IOException;
import org.apache.avro.Schema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.reader.SimpleStreamFormat;
import org.apache.flink.connector.file.src.reader.StreamFormat;
import org.apache.flink.core.fs.FSDataInputStream;

/**
 * JSON lines of events for a FLIP-27 {@code FileSource}: one event per line, parsed with the spec's
 * source schema. Not splittable, so a file is read in order by one reader and each event's {@code
 * seq} is its line number. A bad line fails the read with the line number and the reason.
 */
public final class JsonLinesFormat extends SimpleStreamFormat<FeatureEvent> {
  private static final long serialVersionUID = 1L;
  private final String schemaJson;
  private final int featureCount;
  private final String fileName;
  private final boolean numbered;

  public JsonLinesFormat(Schema schema, int featureCount, String fileName) {
    this(schema, featureCount, fileName, false);
  }

  /**
   * @param numbered each line is {@code <line number> <json>}: a partition of {@code fileName}
   *     written by {@link FileFeatureJob#split}, whose events keep their line numbers as {@code seq}
   */
  public JsonLinesFormat(Schema schema, int featureCount, String fileName, boolean numbered) {
    this.schemaJson = schema.toString();
    this.featureCount = featureCount;
    this.fileName = fileName;
    this.numbered = numbered;
  }

  @Override
  public StreamFormat.Reader<FeatureEvent> createReader(Configuration config, FSDataInputStream in) {
    JsonLinesReader lines =
        new JsonLinesReader(fileName, in, new EventJson(new Schema.Parser().parse(schemaJson)),
            numbered);
    return new StreamFormat.Reader<>() {
      @Override
      public FeatureEvent read() throws IOException {
        try {
          var event = lines.next();
          return event == null ? null : new FeatureEvent(event, lines.lineNumber(), featureCount);
        } catch (EventFiles.BadInputException e) {
          throw new IOException(e.getMessage());
        }
      }

      @Override
      public void close() throws IOException {
        lines.close();
      }
    };
  }

  @Override
  public TypeInformation<FeatureEvent> getProducedType() {
    return new FeatureEventTypeInfo(schemaJson, featureCount);
  }
}
