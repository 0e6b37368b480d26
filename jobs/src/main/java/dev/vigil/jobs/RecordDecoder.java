package dev.vigil.jobs;

import dev.vigil.avro.DeadLetter;
import dev.vigil.schemas.registry.RegistryConfig;
import dev.vigil.schemas.registry.SchemaRegistryClient;
import dev.vigil.schemas.serde.AvroWireDeserializer;
import dev.vigil.schemas.serde.WireFormatException;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.Serializable;
import java.time.Duration;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericRecord;

/**
 * Decode and validate one record: Confluent wire format → the spec's source record (writer schema
 * by id from the registry, cached per id by the client and the deserializer) → {@link
 * RecordValidator} → a {@link FeatureEvent} carrying the record in its {@link Envelope}, {@code seq
 * = partition << 48 | offset}, or one {@link DeadLetter}. Plain Java, serializable as a recipe:
 * {@link #open()} builds the registry client where it runs. The Kafka source's deserializer calls
 * it, so that the watermark sees each partition's event times; {@link DecodeFunction} routes what
 * came out.
 */
public final class RecordDecoder implements Serializable {
  private static final long serialVersionUID = 1L;

  private final RegistryConfig registry;
  private final String sourceSchemaJson;
  private final String envelopeSchemaJson;
  private final int featureCount;
  private final int timePos;
  private final RecordValidator validator;
  private transient AvroWireDeserializer<GenericRecord> deserializer;
  private transient Schema envelope;

  /**
   * @param spec the spec compiled against the source schema (what the deserializer reads into)
   * @param envelopeSpec the same spec compiled against {@link Envelope#schemaOf} (what it emits)
   */
  public RecordDecoder(RegistryConfig registry, CompiledSpec spec, CompiledSpec envelopeSpec,
      Duration futureTolerance) {
    this.registry = registry;
    this.sourceSchemaJson = spec.schema().toString();
    this.envelopeSchemaJson = envelopeSpec.schema().toString();
    this.featureCount = envelopeSpec.spec().features().size();
    this.timePos = envelopeSpec.eventTime().position();
    this.validator = new RecordValidator(spec, futureTolerance);
  }

  /** Where it runs, once before {@link #decode}. */
  public void open() {
    SchemaRegistryClient client = new SchemaRegistryClient(registry);
    deserializer = AvroWireDeserializer.forGeneric(client, new Schema.Parser().parse(sourceSchemaJson));
    envelope = new Schema.Parser().parse(envelopeSchemaJson);
  }

  /** The event, or its dead letter. */
  public Object decode(RawRecord raw) {
    GenericRecord record;
    try {
      record = deserializer.deserialize(raw.value);
    } catch (WireFormatException e) {
      return DeadLetters.of(e.reasonCode(), e.getMessage(), raw.topic, raw.partition, raw.offset,
          e.schemaId() < 0 ? null : e.schemaId(), raw.value);
    }
    RecordValidator.Problem problem = validator.check(record, System.currentTimeMillis());
    if (problem != null) {
      return DeadLetters.of(problem.reason(), problem.message(), raw.topic, raw.partition,
          raw.offset, schemaIdOf(raw.value), raw.value);
    }
    return new FeatureEvent(Envelope.wrap(envelope, record, raw.value, raw.timestamp), raw.seq(),
        featureCount);
  }

  /** The event time of a decoded event, epoch millis. */
  public long eventTimeOf(FeatureEvent e) {
    Object v = e.event.get(timePos);
    return v instanceof java.time.Instant i ? i.toEpochMilli() : ((Number) v).longValue();
  }

  private static Integer schemaIdOf(byte[] framed) {
    return ((framed[1] & 0xff) << 24) | ((framed[2] & 0xff) << 16) | ((framed[3] & 0xff) << 8)
        | (framed[4] & 0xff);
  }
}
