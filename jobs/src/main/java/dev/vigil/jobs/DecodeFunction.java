package dev.vigil.jobs;

import dev.vigil.avro.DeadLetter;
import dev.vigil.schemas.registry.RegistryConfig;
import dev.vigil.schemas.registry.SchemaRegistryClient;
import dev.vigil.schemas.serde.AvroWireDeserializer;
import dev.vigil.schemas.serde.WireFormatException;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.spec.CompiledSpec;
import java.time.Duration;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Decode and validate, one operator (stateless, so chained to the source): Confluent wire format →
 * the spec's source record (writer schema by id from the registry, cached per id by the client and
 * the deserializer) → {@link RecordValidator} → a {@link FeatureEvent} carrying the record in its
 * {@link Envelope}, {@code seq = partition << 48 | offset}. Anything else becomes one
 * {@link DeadLetter} on {@link DeadLetters#TAG}: the job never fails because of a record.
 *
 * <p>Registry outages: known ids keep decoding from the cache; an unknown id is retried by the
 * client with exponential backoff up to {@code registry.retry.limit} attempts (this blocks the
 * subtask, on purpose: back pressure rather than losing the order), then the record is
 * dead-lettered {@code registry_unavailable}. The next record with that id tries again.
 */
public final class DecodeFunction extends ProcessFunction<RawRecord, FeatureEvent> {
  private static final long serialVersionUID = 1L;

  private final RegistryConfig registry;
  private final String sourceSchemaJson;
  private final String envelopeSchemaJson;
  private final int featureCount;
  private final RecordValidator validator;
  private transient SchemaRegistryClient client;
  private transient AvroWireDeserializer<GenericRecord> deserializer;
  private transient Schema envelope;

  /**
   * @param spec the spec compiled against the source schema (what the deserializer reads into)
   * @param envelopeSpec the same spec compiled against {@link Envelope#schemaOf} (what it emits)
   */
  public DecodeFunction(RegistryConfig registry, CompiledSpec spec, CompiledSpec envelopeSpec,
      Duration futureTolerance) {
    this.registry = registry;
    this.sourceSchemaJson = spec.schema().toString();
    this.envelopeSchemaJson = envelopeSpec.schema().toString();
    this.featureCount = envelopeSpec.spec().features().size();
    this.validator = new RecordValidator(spec, futureTolerance);
  }

  @Override
  public void open(OpenContext context) {
    client = new SchemaRegistryClient(registry);
    deserializer = AvroWireDeserializer.forGeneric(client, new Schema.Parser().parse(sourceSchemaJson));
    envelope = new Schema.Parser().parse(envelopeSchemaJson);
  }

  @Override
  public void processElement(RawRecord raw, Context ctx, Collector<FeatureEvent> out) {
    GenericRecord record;
    try {
      record = deserializer.deserialize(raw.value);
    } catch (WireFormatException e) {
      ctx.output(DeadLetters.TAG, DeadLetters.of(e.reasonCode(), e.getMessage(), raw.topic,
          raw.partition, raw.offset, e.schemaId() < 0 ? null : e.schemaId(), raw.value));
      return;
    }
    RecordValidator.Problem problem = validator.check(record, System.currentTimeMillis());
    if (problem != null) {
      ctx.output(DeadLetters.TAG, DeadLetters.of(problem.reason(), problem.message(), raw.topic,
          raw.partition, raw.offset, schemaIdOf(raw.value), raw.value));
      return;
    }
    FeatureEvent e = new FeatureEvent(Envelope.wrap(envelope, record, raw.value, raw.timestamp),
        raw.seq(), featureCount);
    out.collect(e);
  }

  private static Integer schemaIdOf(byte[] framed) {
    return ((framed[1] & 0xff) << 24) | ((framed[2] & 0xff) << 16) | ((framed[3] & 0xff) << 8)
        | (framed[4] & 0xff);
  }
}
