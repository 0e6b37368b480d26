package dev.vigil.transforms.offline;

import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.spec.Aggregation;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.CompiledSpec.ValueKind;
import dev.vigil.transforms.spec.FeatureDef;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.apache.avro.LogicalTypes;
import org.apache.avro.Schema;
import org.apache.avro.SchemaBuilder;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.parquet.avro.AvroParquetWriter;
import org.apache.parquet.conf.PlainParquetConfiguration;
import org.apache.parquet.hadoop.ParquetWriter;
import org.apache.parquet.hadoop.metadata.CompressionCodecName;
import org.apache.parquet.io.LocalOutputFile;

/**
 * Feature rows as a Parquet file: {@code transaction_id}, {@code event_time} (timestamp-millis) and
 * one nullable column per feature, typed by its aggregation. Written with Parquet's local-file
 * API (no Hadoop file system), Snappy-compressed. Public for the batch backfill's part files
 * ({@code dev.vigil.transforms.batch}), which open it on a task from the row schema alone.
 */
public final class ParquetRowSink implements Backfill.RowSink {
  private final ParquetWriter<GenericRecord> writer;
  private final Schema schema;
  private final int features;

  ParquetRowSink(Path file, CompiledSpec spec) throws IOException {
    this(file, schemaOf(spec));
  }

  /** Writes rows of {@code rowSchema} ({@link #schemaOf}) to {@code file}, replacing it. */
  public ParquetRowSink(Path file, Schema rowSchema) throws IOException {
    this.schema = rowSchema;
    this.features = rowSchema.getFields().size() - 2;
    Files.deleteIfExists(file);
    this.writer = AvroParquetWriter.<GenericRecord>builder(new LocalOutputFile(file))
        .withSchema(schema)
        .withConf(new PlainParquetConfiguration())
        .withCompressionCodec(CompressionCodecName.SNAPPY)
        .build();
  }

  /** The Avro schema of the rows: what Parquet readers (pandas, Spark, DuckDB) see. */
  public static Schema schemaOf(CompiledSpec spec) {
    var fields = SchemaBuilder.record("FeatureRow").namespace("dev.vigil.features")
        .doc("Point-in-time feature vectors, spec " + spec.spec().fingerprint())
        .fields()
        .optionalString("transaction_id")
        .name("event_time").type(LogicalTypes.timestampMillis()
            .addToSchema(Schema.create(Schema.Type.LONG))).noDefault();
    for (FeatureDef f : spec.spec().features()) {
      Schema.Type type = typeOf(f, spec);
      fields = fields.name(f.name()).type().optional().type(Schema.create(type));
    }
    return fields.endRecord();
  }

  private static Schema.Type typeOf(FeatureDef f, CompiledSpec spec) {
    CompiledSpec.FieldRef field = spec.featureField(f.name());
    ValueKind kind = field == null ? null : field.kind();
    Aggregation a = f.aggregation();
    return switch (a) {
      case COUNT, DISTINCT_COUNT, TIME_SINCE_LAST, TIME_SINCE_FIRST -> Schema.Type.LONG;
      case MEAN -> Schema.Type.DOUBLE;
      case SUM, MIN, MAX -> kind == ValueKind.DOUBLE ? Schema.Type.DOUBLE : Schema.Type.LONG;
      case LAST -> switch (kind) {
        case LONG -> Schema.Type.LONG;
        case DOUBLE -> Schema.Type.DOUBLE;
        case BOOLEAN -> Schema.Type.BOOLEAN;
        case STRING -> Schema.Type.STRING;
      };
    };
  }

  @Override
  public void write(FeatureRow row) throws IOException {
    GenericRecord r = new GenericData.Record(schema);
    r.put(0, row.transactionId());
    r.put(1, row.eventTime());
    for (int i = 0; i < features; i++) {
      r.put(2 + i, row.values()[i]);
    }
    writer.write(r);
  }

  @Override
  public void close() throws IOException {
    writer.close();
  }
}
