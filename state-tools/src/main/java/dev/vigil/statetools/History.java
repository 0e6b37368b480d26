package dev.vigil.statetools;

import dev.vigil.transforms.io.EventFiles;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.generic.IndexedRecord;
import org.apache.parquet.avro.AvroParquetReader;
import org.apache.parquet.avro.AvroReadSupport;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.io.LocalInputFile;

/**
 * History files: JSON lines and Avro through {@link EventFiles}, Parquet through parquet-avro's
 * local-file API (no Hadoop file system), read with the spec's source schema as the projection.
 */
final class History {
  private History() {}

  static EventFiles.Reader open(Path file, Schema schema) throws EventFiles.BadInputException {
    if (!file.getFileName().toString().endsWith(".parquet")) {
      return EventFiles.open(file, schema);
    }
    if (!Files.isRegularFile(file)) {
      throw new EventFiles.BadInputException(file + ": no such file");
    }
    try {
      return new ParquetEvents(file, schema);
    } catch (IOException | RuntimeException e) {
      throw new EventFiles.BadInputException(file + ": not a readable Parquet file: "
          + e.getMessage());
    }
  }

  private static final class ParquetEvents implements EventFiles.Reader {
    private final Path file;
    private final ParquetReader<GenericRecord> reader;
    private final long size;
    private long n;
    private long total = -1;

    ParquetEvents(Path file, Schema schema) throws IOException {
      this.file = file;
      this.size = Files.size(file);
      PlainParquetConfiguration conf = new PlainParquetConfiguration();
      conf.set(AvroReadSupport.AVRO_REQUESTED_PROJECTION, schema.toString());
      conf.set(AvroReadSupport.AVRO_DATA_SUPPLIER, GenericDataSupplier.class.getName());
      this.reader = AvroParquetReader.<GenericRecord>builder(new LocalInputFile(file))
          .withConf(conf)
          .build();
    }

    @Override
    public IndexedRecord next() throws EventFiles.BadInputException {
      try {
        GenericRecord r = reader.read();
        if (r != null) {
          n++;
        }
        return r;
      } catch (IOException | RuntimeException e) {
        throw new EventFiles.BadInputException(file + ": record " + (n + 1) + ": "
            + e.getMessage());
      }
    }

    /** Parquet reads by row group: progress is estimated from the records read. */
    @Override
    public long bytesRead() {
      return total < 0 ? 0 : Math.min(size, size * n / Math.max(total, 1));
    }

    @Override
    public String position() {
      return file + ": record " + n;
    }

    @Override
    public void close() throws IOException {
      reader.close();
    }
  }

  /** Plain generic records (no specific classes needed on the reading side). */
  public static final class GenericDataSupplier implements org.apache.parquet.avro.AvroDataSupplier {
    @Override
    public GenericData get() {
      return GenericData.get();
    }
  }
}
