package dev.vigil.transforms.run;

import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.FeatureEventTypeInfo;
import dev.vigil.transforms.io.EventJson;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
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

  public JsonLinesFormat(Schema schema, int featureCount, String fileName) {
    this.schemaJson = schema.toString();
    this.featureCount = featureCount;
    this.fileName = fileName;
  }

  @Override
  public StreamFormat.Reader<FeatureEvent> createReader(Configuration config, FSDataInputStream in) {
    EventJson json = new EventJson(new Schema.Parser().parse(schemaJson));
    BufferedReader lines = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8), 1 << 16);
    return new StreamFormat.Reader<>() {
      long lineNo;

      @Override
      public FeatureEvent read() throws IOException {
        String line;
        do {
          line = lines.readLine();
          lineNo++;
          if (line == null) {
            return null;
          }
        } while (line.isBlank());
        try {
          return new FeatureEvent(json.parse(line), lineNo, featureCount);
        } catch (EventJson.BadEventException e) {
          throw new IOException(fileName + ":" + lineNo + ": " + e.getMessage());
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
