package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.DeadLetter;
import dev.vigil.schemas.registry.RegistryConfig;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.spec.CompiledSpec;
import java.net.ServerSocket;
import java.nio.ByteBuffer;
import java.time.Duration;
import org.apache.flink.streaming.api.operators.ProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.OneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** The decode step when the registry cannot be reached (no registry process: a refused port). */
class DecodeFunctionTest {

  @Test
  void anUnknownIdWhileTheRegistryIsUnreachableIsRetriedThenDeadLetteredRegistryUnavailable()
      throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort(); // closed again: connections are refused
    }
    RegistryConfig registry = RegistryConfig.of("http://127.0.0.1:" + port)
        .withRetries(3, Duration.ofMillis(10), Duration.ofMillis(20));
    CompiledSpec spec = TestingJob.spec();
    CompiledSpec envelope = Envelope.compile(spec);
    var harness = new OneInputStreamOperatorTestHarness<RawRecord, FeatureEvent>(
        new ProcessOperator<>(new DecodeFunction(new RecordDecoder(registry, spec, envelope, Duration.ofMinutes(5)))));
    harness.open();
    byte[] framed = new byte[12];
    ByteBuffer.wrap(framed).put((byte) 0).putInt(42);
    long started = System.nanoTime();
    harness.processElement(new StreamRecord<>(new RawRecord("in", 1, 17, 0, null, framed)));
    long elapsedMillis = (System.nanoTime() - started) / 1_000_000;

    assertThat(harness.extractOutputValues()).isEmpty();
    var dead = harness.getSideOutput(DeadLetters.TAG);
    assertThat(dead).hasSize(1);
    DeadLetter d = dead.iterator().next().getValue();
    assertThat(d.getReason()).isEqualTo(DeadLetters.REGISTRY_UNAVAILABLE);
    assertThat(d.getMessage()).contains("after 3 attempts");
    assertThat(d.getSchemaId()).isEqualTo(42);
    assertThat(d.getSourcePartition()).isEqualTo(1);
    assertThat(d.getSourceOffset()).isEqualTo(17);
    assertThat(d.getOriginal()).isEqualTo(ByteBuffer.wrap(framed));
    assertThat(elapsedMillis).as("two backoffs of at least 5 ms").isGreaterThanOrEqualTo(10);
    harness.close();
  }

  @Test
  void bytesThatAreNotFramedAreDeadLetteredWithoutAskingTheRegistry() throws Exception {
    RegistryConfig registry = RegistryConfig.of("http://127.0.0.1:9"); // never called
    CompiledSpec spec = TestingJob.spec();
    var harness = new OneInputStreamOperatorTestHarness<RawRecord, FeatureEvent>(
        new ProcessOperator<>(new DecodeFunction(new RecordDecoder(registry, spec, Envelope.compile(spec),
            Duration.ofMinutes(5)))));
    harness.open();
    harness.processElement(new StreamRecord<>(new RawRecord("in", 0, 3, 0, null, "{}".getBytes())));
    DeadLetter d = harness.getSideOutput(DeadLetters.TAG).iterator().next().getValue();
    assertThat(d.getReason()).isEqualTo(DeadLetters.NOT_FRAMED);
    assertThat(d.getSchemaId()).isNull();
    harness.close();
  }
}
