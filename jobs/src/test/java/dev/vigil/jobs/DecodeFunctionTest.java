package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import dev.vigil.avro.DeadLetter;
import dev.vigil.avro.Transaction;
import dev.vigil.schemas.registry.RegistryConfig;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.FeatureEventSerializer;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * The decode step when the registry fails: a refused port, and a small HTTP server standing in for
 * the registry's {@code GET /schemas/ids/{id}} (503 first, then the schema, or 404).
 */
class DecodeFunctionTest {
  static final RegistryHoldBack.Policy QUICK = new RegistryHoldBack.Policy(
      Duration.ofMillis(10), Duration.ofMillis(40), Duration.ofMillis(300));

  @Test
  void anUnknownIdWhileTheRegistryIsUnreachableIsHeldBackThenFailsTheTaskNeverADeadLetter()
      throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: connections are refused
    }
    byte[] framed = new byte[12];
    ByteBuffer.wrap(framed).put((byte) 0).putInt(42);
    try (var harness = harness(RegistryConfig.of("http://127.0.0.1:" + port))) {
      long started = System.nanoTime();
      assertThatThrownBy(() -> harness.processElement(
              new StreamRecord<>(new RawRecord("in", 1, 17, 0, null, framed))))
          .isInstanceOf(RegistryHoldBack.RegistryOutageException.class)
          .hasMessageContaining("while resolving in partition 1 offset 17, schema id 42")
          .hasMessageContaining("connection refused")
          .hasMessageContaining("no record is dead-lettered");
      assertThat((System.nanoTime() - started) / 1_000_000).as("held back for fail-after")
          .isGreaterThanOrEqualTo(300);
      assertThat(harness.extractOutputValues()).isEmpty();
      assertThat(harness.getSideOutput(DeadLetters.TAG)).isNullOrEmpty();
    }
  }

  @Test
  void aRecordHeldBackThroughRegistryErrorsIsDecodedOnceTheRegistryAnswers() throws Exception {
    Transaction tx = TestingJob.tx("t1", "c1", "m1", 500, System.currentTimeMillis());
    AtomicInteger calls = new AtomicInteger();
    HttpServer registry = fakeRegistry(7, calls, 3);
    try (var harness = harness(RegistryConfig.of(url(registry)))) {
      harness.processElement(new StreamRecord<>(new RawRecord("in", 0, 5, 0, null,
          framed(7, tx))));
      assertThat(calls.get()).as("three 503s, then the schema").isEqualTo(4);
      assertThat(harness.extractOutputValues()).hasSize(1);
      assertThat(harness.extractOutputValues().get(0).seq).isEqualTo(Seq.of(0, 5));
      assertThat(harness.getSideOutput(DeadLetters.TAG)).isNullOrEmpty();
    } finally {
      registry.stop(0);
    }
  }

  @Test
  void anIdTheRegistryAnswers404ForIsADeadLetterUnknownSchemaIdWithoutWaiting() throws Exception {
    AtomicInteger calls = new AtomicInteger();
    HttpServer registry = fakeRegistry(7, calls, 0);
    try (var harness = harness(RegistryConfig.of(url(registry)))) {
      Transaction tx = TestingJob.tx("t1", "c1", "m1", 500, System.currentTimeMillis());
      harness.processElement(new StreamRecord<>(new RawRecord("in", 2, 9, 0, null,
          framed(8, tx))));
      DeadLetter d = harness.getSideOutput(DeadLetters.TAG).iterator().next().getValue();
      assertThat(d.getReason()).isEqualTo(DeadLetters.UNKNOWN_SCHEMA_ID);
      assertThat(d.getSchemaId()).isEqualTo(8);
      assertThat(d.getSourceOffset()).isEqualTo(9);
      assertThat(calls.get()).isEqualTo(1);
    } finally {
      registry.stop(0);
    }
  }

  @Test
  void bytesThatAreNotFramedAreDeadLetteredWithoutAskingTheRegistry() throws Exception {
    RegistryConfig registry = RegistryConfig.of("http://127.0.0.1:9"); // never called
    try (var harness = harness(registry)) {
      harness.processElement(new StreamRecord<>(new RawRecord("in", 0, 3, 0, null, "{}".getBytes())));
      DeadLetter d = harness.getSideOutput(DeadLetters.TAG).iterator().next().getValue();
      assertThat(d.getReason()).isEqualTo(DeadLetters.NOT_FRAMED);
      assertThat(d.getSchemaId()).isNull();
    }
  }

  static OneInputStreamOperatorTestHarness<RawRecord, FeatureEvent> harness(
      RegistryConfig registry) throws Exception {
    CompiledSpec spec = TestingJob.spec();
    CompiledSpec envelope = Envelope.compile(spec);
    var harness = new OneInputStreamOperatorTestHarness<RawRecord, FeatureEvent>(
        new ProcessOperator<>(new DecodeFunction(new RecordDecoder(registry, spec, envelope,
            Duration.ofMinutes(5), QUICK))));
    harness.setup(new FeatureEventSerializer(envelope.schema().toString(),
        envelope.spec().features().size()));
    harness.open();
    return harness;
  }

  /**
   * {@code GET /schemas/ids/{id}}: 503 for the first {@code unavailable} calls, then the
   * Transaction schema for {@code id} and 404 (error_code 40403) for any other id.
   */
  static HttpServer fakeRegistry(int id, AtomicInteger calls, int unavailable) throws Exception {
    HttpServer server = HttpServer.create(
        new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    server.createContext("/schemas/ids/", exchange -> {
      int n = calls.incrementAndGet();
      String path = exchange.getRequestURI().getPath();
      int status;
      String body;
      if (n <= unavailable) {
        status = 503;
        body = "{\"error_code\":50301,\"message\":\"starting\"}";
      } else if (path.equals("/schemas/ids/" + id)) {
        status = 200;
        var answer = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode();
        answer.put("schema", Transaction.getClassSchema().toString());
        body = answer.toString();
      } else {
        status = 404;
        body = "{\"error_code\":40403,\"message\":\"Schema not found\"}";
      }
      byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
      exchange.getResponseHeaders().add("Content-Type", "application/json");
      exchange.sendResponseHeaders(status, bytes.length);
      exchange.getResponseBody().write(bytes);
      exchange.close();
    });
    server.start();
    return server;
  }

  static String url(HttpServer server) {
    return "http://127.0.0.1:" + server.getAddress().getPort();
  }

  static byte[] framed(int schemaId, Transaction tx) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.write(0);
    out.write(ByteBuffer.allocate(4).putInt(schemaId).array());
    BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, null);
    new SpecificDatumWriter<>(Transaction.class).write(tx, encoder);
    encoder.flush();
    return out.toByteArray();
  }
}
