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
import org.apache.flink.metrics.MetricGroup;

/**
 * Decode and validate one record: Confluent wire format → the spec's source record (writer schema
 * by id from the registry, cached per id by the client and the deserializer) → {@link
 * RecordValidator} → a {@link FeatureEvent} carrying the record in its {@link Envelope}, {@code seq
 * = partition << 48 | offset}, or one {@link DeadLetter}. Plain Java, serializable as a recipe:
 * {@link #open} builds the registry client where it runs. The Kafka source's deserializer calls
 * it, so that the watermark sees each partition's event times; {@link DecodeFunction} routes what
 * came out.
 *
 * <p>Only a bad record becomes a dead letter: an id the registry answers 404 for is {@code
 * unknown_schema_id}. An id not yet cached while the registry is unreachable is not the record's
 * fault: {@link RegistryHoldBack} holds the record back (the calling thread waits and retries)
 * and, after {@code registry.outage.fail-after}, fails the task so that the job restarts from its
 * last checkpoint. The registry client itself makes one attempt per call: the hold-back does the
 * retrying, with its backoff, its log lines and its metrics.
 */
public final class RecordDecoder implements Serializable {
  private static final long serialVersionUID = 1L;

  private final RegistryConfig registry;
  private final String sourceSchemaJson;
  private final String envelopeSchemaJson;
  private final int featureCount;
  private final int timePos;
  private final RecordValidator validator;
  private final RegistryHoldBack.Policy holdBack;
  private transient AvroWireDeserializer<GenericRecord> deserializer;
  private transient RegistryHoldBack registryWait;
  private transient Schema envelope;

  /**
   * @param spec the spec compiled against the source schema (what the deserializer reads into)
   * @param envelopeSpec the same spec compiled against {@link Envelope#schemaOf} (what it emits)
   * @param holdBack how long and how often an uncached id is retried while the registry is down
   */
  public RecordDecoder(RegistryConfig registry, CompiledSpec spec, CompiledSpec envelopeSpec,
      Duration futureTolerance, RegistryHoldBack.Policy holdBack) {
    this.registry = registry;
    this.holdBack = holdBack;
    this.sourceSchemaJson = spec.schema().toString();
    this.envelopeSchemaJson = envelopeSpec.schema().toString();
    this.featureCount = envelopeSpec.spec().features().size();
    this.timePos = envelopeSpec.eventTime().position();
    this.validator = new RecordValidator(spec, futureTolerance);
  }

  /**
   * Where it runs, once before {@link #decode}; the hold-back's metrics ({@code vigil.registry.*})
   * go to {@code metrics} (null: nowhere).
   */
  public void open(MetricGroup metrics) {
    SchemaRegistryClient client = new SchemaRegistryClient(
        registry.withRetries(1, registry.initialBackoff(), registry.maxBackoff()));
    deserializer = AvroWireDeserializer.forGeneric(client, new Schema.Parser().parse(sourceSchemaJson));
    envelope = new Schema.Parser().parse(envelopeSchemaJson);
    registryWait = new RegistryHoldBack(holdBack, registry.baseUrl(), metrics);
  }

  /**
   * The event, or its dead letter; waits while the registry is unreachable.
   *
   * @throws RegistryHoldBack.RegistryOutageException the registry stayed unreachable for {@code
   *     registry.outage.fail-after} (or failed in a way waiting cannot fix): the task fails
   */
  public Object decode(RawRecord raw) {
    GenericRecord record;
    try {
      record = registryWait.get(() -> deserializer.deserialize(raw.value), describe(raw));
    } catch (WireFormatException e) {
      DeadLetter d = DeadLetters.of(e.reasonCode(), e.getMessage(), raw.topic, raw.partition,
          raw.offset, e.schemaId() < 0 ? null : e.schemaId(), raw.value, raw.key, raw.timestamp);
      DeadLetters.withException(d, e.getCause() != null ? e.getCause() : e);
      return DeadLetters.withHeaders(d, raw.headerKeys, raw.headerValues);
    }
    RecordValidator.Problem problem = validator.check(record, System.currentTimeMillis());
    if (problem != null) {
      return DeadLetters.withHeaders(DeadLetters.of(problem.reason(), problem.message(),
          raw.topic, raw.partition, raw.offset, schemaIdOf(raw.value), raw.value, raw.key,
          raw.timestamp), raw.headerKeys, raw.headerValues);
    }
    return new FeatureEvent(Envelope.wrap(envelope, record, raw.value, raw.timestamp), raw.seq(),
        featureCount);
  }

  /** The event time of a decoded event, epoch millis. */
  public long eventTimeOf(FeatureEvent e) {
    Object v = e.event.get(timePos);
    return v instanceof java.time.Instant i ? i.toEpochMilli() : ((Number) v).longValue();
  }

  private static String describe(RawRecord raw) {
    return raw.topic + " partition " + raw.partition + " offset " + raw.offset
        + (raw.value != null && raw.value.length >= 5 ? ", schema id " + schemaIdOf(raw.value) : "");
  }

  private static Integer schemaIdOf(byte[] framed) {
    return ((framed[1] & 0xff) << 24) | ((framed[2] & 0xff) << 16) | ((framed[3] & 0xff) << 8)
        | (framed[4] & 0xff);
  }
}
