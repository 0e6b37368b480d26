package dev.vigil.transforms.batch;

import dev.vigil.transforms.flink.FeatureEvent;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.file.DataFileStream;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.specific.SpecificData;
import org.apache.flink.connector.file.src.reader.BulkFormat;
import org.apache.flink.connector.file.src.util.CheckpointedPosition;
import org.apache.flink.connector.file.src.util.IteratorResultIterator;
import org.apache.flink.core.fs.FSDataInputStream;
import org.apache.flink.core.fs.Path;

/**
 * The events of a whole Avro container file, read with the spec's schema as reader schema (as
 * {@code EventFiles} reads it), ordinal = file index and record number. One split per file.
 */
final class AvroSplitReader implements BulkFormat.Reader<FeatureEvent> {
  private final Path file;
  private final int fileIndex;
  private final DataFileStream<IndexedRecord> stream;
  private long n;

  AvroSplitReader(Path file, int fileIndex, Schema schema) throws IOException {
    this.file = file;
    this.fileIndex = fileIndex;
    FSDataInputStream in = file.getFileSystem().open(file);
    try {
      this.stream = new DataFileStream<>(in,
          new GenericDatumReader<>(null, schema, SpecificData.getForSchema(schema)));
    } catch (IOException e) {
      in.close();
      throw new BadInputError(file.getPath() + ": not an Avro container file: " + e.getMessage());
    }
  }

  @Override
  public BulkFormat.RecordIterator<FeatureEvent> readBatch() throws IOException {
    List<FeatureEvent> batch = new ArrayList<>(EventFileFormat.BATCH);
    long first = n;
    try {
      while (batch.size() < EventFileFormat.BATCH && stream.hasNext()) {
        IndexedRecord e = stream.next();
        batch.add(new FeatureEvent(e, InputFiles.ordinal(fileIndex, n), 0));
        n++;
      }
    } catch (RuntimeException e) {
      throw new BadInputError(file.getPath() + ": record " + (n + 1) + ": " + e.getMessage());
    }
    if (batch.isEmpty()) {
      return null;
    }
    return new IteratorResultIterator<>(batch.iterator(), CheckpointedPosition.NO_OFFSET, first);
  }

  @Override
  public void close() throws IOException {
    stream.close();
  }
}
