package dev.vigil.transforms.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.FeatureSpec;
import java.time.Instant;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.streaming.api.operators.KeyedProcessOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/** The feature stage in an operator harness: outputs, late side output, TTL clean-up. */
class FeatureStageTest {
  static final long T0 = Instant.parse("2026-03-01T00:00:00Z").toEpochMilli();
  static final long HOUR = 3_600_000L;

  static CompiledSpec spec() throws Exception {
    String yaml = "source: {subject: payments.transactions-value, event_time: event_time}\n"
        + "entities: {merchant: merchant_id}\nfeatures:\n"
        + "  - {name: n1h, entity: merchant, aggregation: count, window: 1h}\n"
        + "  - {name: s1h, entity: merchant, aggregation: sum, field: amount_cents, window: 1h}\n";
    FeatureSpec s = FeatureSpec.parse(yaml, "test", null);
    return CompiledSpec.compile(s, CompiledSpec.sourceSchema(s, "test"), "test");
  }

  static FeatureEvent event(long seq, String merchant, long t, long amount) {
    Transaction tx = Transaction.newBuilder().setTransactionId("t" + seq).setCardId("c")
        .setMerchantId(merchant).setAmountCents(amount).setCurrency("EUR")
        .setEventTime(Instant.ofEpochMilli(t)).setChannel(Channel.POS).setDeviceId(null)
        .setCountry(null).build();
    return new FeatureEvent(tx, seq, 2);
  }

  record Harness(KeyedOneInputStreamOperatorTestHarness<String, FeatureEvent, FeatureEvent> h,
      FeatureEventTypeInfo type) {}

  static Harness harness(CompiledSpec spec) throws Exception {
    EntityEngine engine = spec.engines().get(0);
    FeatureEventTypeInfo type = FeaturePipeline.typeOf(spec);
    FeatureStage stage = new FeatureStage(engine, new int[] {0, 1}, FeatureStage.lateTag(type));
    var h = new KeyedOneInputStreamOperatorTestHarness<>(
        new KeyedProcessOperator<>(stage), new EntityKeySelector(engine), Types.STRING);
    h.setup(new FeatureEventSerializer(spec.schema().toString(), 2));
    h.open();
    return new Harness(h, type);
  }

  @Test
  void writesEachEventsValuesAsOfJustBeforeIt() throws Exception {
    Harness x = harness(spec());
    x.h().processElement(new StreamRecord<>(event(1, "m", T0, 10)));
    x.h().processElement(new StreamRecord<>(event(2, "m", T0 + 1, 20)));
    x.h().processElement(new StreamRecord<>(event(3, "other", T0 + 2, 5)));
    List<FeatureEvent> out = x.h().extractOutputValues();
    assertThat(out).extracting(e -> e.values[0]).containsExactly(0L, 1L, 0L);
    assertThat(out).extracting(e -> e.values[1]).containsExactly(0L, 10L, 0L);
    assertThat(x.h().numKeyedStateEntries()).isEqualTo(2);
    x.h().close();
  }

  @Test
  void lateEventsGoToTheSideOutputAndLeaveStateAlone() throws Exception {
    Harness x = harness(spec());
    x.h().processElement(new StreamRecord<>(event(1, "m", T0 + 5 * HOUR, 10)));
    x.h().processElement(new StreamRecord<>(event(2, "m", T0, 20))); // 5 h older than newest: late
    x.h().processElement(new StreamRecord<>(event(3, "m", T0 + 5 * HOUR + 1, 30)));
    var late = x.h().getSideOutput(FeatureStage.lateTag(x.type()));
    assertThat(late).hasSize(1);
    assertThat(late.peek().getValue().seq).isEqualTo(2);
    List<FeatureEvent> out = x.h().extractOutputValues();
    assertThat(out.get(1).late).isTrue();
    assertThat(out.get(1).values).containsOnlyNulls();
    assertThat(out.get(2).values[1]).isEqualTo(10L); // the late 20 was not counted
    x.h().close();
  }

  @Test
  void stateOfAnIdleKeyIsClearedAfterItsTtl() throws Exception {
    Harness x = harness(spec());
    x.h().setStateTtlProcessingTime(0);
    x.h().processElement(new StreamRecord<>(event(1, "m", T0, 10)));
    x.h().processElement(new StreamRecord<>(event(2, "m", T0 + 1, 10)));
    // TTL = longest window (1 h) + its tail (5 min), in processing time
    x.h().setStateTtlProcessingTime(HOUR + 5 * 60_000L + 1);
    x.h().processElement(new StreamRecord<>(event(3, "m", T0 + 2, 10)));
    List<FeatureEvent> out = x.h().extractOutputValues();
    assertThat(out.get(1).values[0]).isEqualTo(1L);
    assertThat(out.get(2).values[0]).as("expired state reads as a new key").isEqualTo(0L);
    x.h().close();
  }
}
