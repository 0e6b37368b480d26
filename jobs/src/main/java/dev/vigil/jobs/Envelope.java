package dev.vigil.jobs;

import dev.vigil.transforms.flink.JobEnvelope;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.ByteBuffer;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.IndexedRecord;

/**
 * The record the feature stages carry ({@link JobEnvelope}: the source record's fields, then the
 * original value bytes and the Kafka timestamp), and how the job fills and reads it.
 */
public final class Envelope {
  public static final String NAME = JobEnvelope.NAME;
  public static final String ORIGINAL = JobEnvelope.ORIGINAL;
  public static final String KAFKA_TIMESTAMP = JobEnvelope.KAFKA_TIMESTAMP;

  private Envelope() {}

  /** The envelope schema of {@code source}: its fields, then the two job fields. */
  public static Schema schemaOf(Schema source) {
    return JobEnvelope.schemaOf(source);
  }

  /** {@code spec} compiled against its envelope schema: same features, same field positions. */
  public static CompiledSpec compile(CompiledSpec spec) {
    return JobEnvelope.compile(spec);
  }

  /** {@code record} (of the source schema) in an envelope of {@code schema}. */
  public static GenericData.Record wrap(Schema schema, IndexedRecord record, byte[] original,
      long kafkaTimestamp) {
    GenericData.Record e = new GenericData.Record(schema);
    int n = record.getSchema().getFields().size();
    for (int i = 0; i < n; i++) {
      e.put(i, record.get(i));
    }
    e.put(n, ByteBuffer.wrap(original));
    e.put(n + 1, kafkaTimestamp);
    return e;
  }

  /** The original value bytes carried by an envelope. */
  public static byte[] original(IndexedRecord envelope) {
    ByteBuffer b = ((ByteBuffer) envelope.get(envelope.getSchema().getField(ORIGINAL).pos()))
        .duplicate();
    byte[] bytes = new byte[b.remaining()];
    b.get(bytes);
    return bytes;
  }

  public static long kafkaTimestamp(IndexedRecord envelope) {
    return (Long) envelope.get(envelope.getSchema().getField(KAFKA_TIMESTAMP).pos());
  }
}
