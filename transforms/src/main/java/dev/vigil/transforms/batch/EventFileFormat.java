package dev.vigil.transforms.batch;

import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.FeatureEventTypeInfo;
import java.io.IOException;
import org.apache.avro.Schema;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.FileSourceSplit;
import org.apache.flink.connector.file.src.reader.BulkFormat;

/**
 * The events of a split of an input file for a FLIP-27 {@code FileSource}, each a {@link
 * FeatureEvent} whose {@code seq} is its global ordinal ({@link InputFiles}) and which carries no
 * feature values. JSON lines are read by byte range ({@link LineSplitReader}); an Avro file is one
 * split. A bad line or record fails the read with a {@link BadInputError} naming file, line and
 * field. The split id starts with the file's index ({@link EventSplits}).
 */
final class EventFileFormat implements BulkFormat<FeatureEvent, FileSourceSplit> {
  private static final long serialVersionUID = 1L;
  /** Events per batch handed to the source reader. */
  static final int BATCH = 1024;

  private final String schemaJson;

  EventFileFormat(Schema schema) {
    this.schemaJson = schema.toString();
  }

  @Override
  public Reader<FeatureEvent> createReader(Configuration config, FileSourceSplit split)
      throws IOException {
    Schema schema = new Schema.Parser().parse(schemaJson);
    int fileIndex = EventSplits.fileIndexOf(split);
    if (InputFiles.isAvro(split.path().getName())) {
      return new AvroSplitReader(split.path(), fileIndex, schema);
    }
    return new JsonLinesSplitReader(split, fileIndex, schema);
  }

  @Override
  public Reader<FeatureEvent> restoreReader(Configuration config, FileSourceSplit split)
      throws IOException {
    if (split.getReaderPosition().isPresent()) {
      // Batch runs take no checkpoints; a failed split is read again from its start.
      throw new UnsupportedOperationException("a backfill split does not resume from a position: "
          + split);
    }
    return createReader(config, split);
  }

  @Override
  public boolean isSplittable() {
    return true;
  }

  @Override
  public TypeInformation<FeatureEvent> getProducedType() {
    return new FeatureEventTypeInfo(schemaJson, 0);
  }
}
