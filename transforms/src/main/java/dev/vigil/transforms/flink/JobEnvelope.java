package dev.vigil.transforms.flink;

import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.SpecException;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * The record the scoring job's feature stages carry: the source record's fields (same positions,
 * so the spec's engines read it unchanged) followed by what the job needs after the stages: the
 * original value bytes (a late or duplicate event is dead-lettered with them, exactly as consumed)
 * and the Kafka timestamp (scoring latency). Its own record name, so Avro never resolves it to a
 * generated class. Here rather than in the job, because the savepoint tools read and write the
 * events that wait in the job's event-time stages ({@code state add-feature} on a job's
 * savepoint), and their type is this schema's.
 */
public final class JobEnvelope {
  public static final String NAME = "dev.vigil.jobs.ScoringEnvelope";
  public static final String ORIGINAL = "vigil_original_value";
  public static final String KAFKA_TIMESTAMP = "vigil_kafka_timestamp";

  private JobEnvelope() {}

  /** The envelope schema of {@code source}: its fields, then the two job fields. */
  public static Schema schemaOf(Schema source) {
    List<Schema.Field> fields = new ArrayList<>();
    for (Schema.Field f : source.getFields()) {
      fields.add(new Schema.Field(f, f.schema()));
    }
    fields.add(new Schema.Field(ORIGINAL, Schema.create(Schema.Type.BYTES),
        "the record's value bytes exactly as consumed", null));
    fields.add(new Schema.Field(KAFKA_TIMESTAMP, Schema.create(Schema.Type.LONG),
        "the record's Kafka timestamp, epoch millis", null));
    return Schema.createRecord(NAME, "A source record on its way through the scoring job",
        null, false, fields);
  }

  /** {@code spec} compiled against its envelope schema: same features, same field positions. */
  public static CompiledSpec compile(CompiledSpec spec) {
    try {
      return CompiledSpec.compile(spec.spec(), schemaOf(spec.schema()), "scoring envelope");
    } catch (SpecException e) {
      throw new IllegalStateException("the envelope schema keeps every source field: " + e, e);
    }
  }
}
