package dev.vigil.transforms.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.FeatureSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.clusterframework.types.ResourceID;
import org.apache.flink.runtime.executiongraph.ExecutionAttemptID;
import org.apache.flink.runtime.metrics.groups.TaskManagerMetricGroup;
import org.apache.flink.runtime.metrics.util.TestingMetricRegistry;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.runtime.state.KeyedStateBackend;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.runtime.state.VoidNamespaceSerializer;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The feature stage in an operator harness, on heap and RocksDB state: outputs, the late side
 * output and its counter, tiles evicted (state bytes bounded), idle keys cleared by the TTL, and
 * state carried across a snapshot and restore.
 */
class FeatureStageTest {
  static final long T0 = Instant.parse("2026-03-01T00:00:00Z").toEpochMilli();
  static final long MINUTE = 60_000L;
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

  /** A harness over one stage, and the metrics it registered (by dotted name). */
  static final class Stage implements AutoCloseable {
    final KeyedOneInputStreamOperatorTestHarness<String, FeatureEvent, FeatureEvent> h;
    final FeatureEventTypeInfo type;
    final EntityEngine engine;
    final Map<String, Counter> counters = new HashMap<>();
    final Map<String, Gauge<?>> gauges = new HashMap<>();

    Stage(CompiledSpec spec, StateBackend backend, OperatorSubtaskState restore) throws Exception {
      this(spec, backend, restore, null, 0);
    }

    Stage(CompiledSpec spec, StateBackend backend, OperatorSubtaskState restore,
        Duration dedupe, int cacheKeys) throws Exception {
      this(spec, backend, restore, dedupe, cacheKeys,
          new dev.vigil.transforms.spec.EntityTiming(
              dev.vigil.transforms.spec.EntityTiming.Ordering.ARRIVAL, 0));
    }

    Stage(CompiledSpec spec, StateBackend backend, OperatorSubtaskState restore,
        Duration dedupe, int cacheKeys, dev.vigil.transforms.spec.EntityTiming timing)
        throws Exception {
      engine = spec.engines().get(0);
      type = FeaturePipeline.typeOf(spec);
      int idPos = dedupe == null ? -1 : spec.schema().getField("transaction_id").pos();
      FeatureStage stage = new FeatureStage(engine, new int[] {0, 1}, FeatureStage.lateTag(type),
          idPos, dedupe, cacheKeys, timing, type);
      TestingMetricRegistry registry = TestingMetricRegistry.builder()
          .setRegisterConsumer((metric, name, group) -> {
            String[] scope = group.getScopeComponents();
            String path = String.join(".", List.of(scope).subList(scope.length - 3, scope.length));
            if (metric instanceof Counter c) {
              counters.put(path + "." + name, c);
            }
            if (metric instanceof Gauge<?> g) {
              gauges.put(path + "." + name, g);
            }
          })
          .build();
      MockEnvironment env = new MockEnvironmentBuilder()
          .setMetricGroup(TaskManagerMetricGroup.createTaskManagerMetricGroup(
                  registry, "localhost", ResourceID.generate())
              .addJob(new JobID(), "test")
              .addTask(ExecutionAttemptID.randomId(), "features"))
          .build();
      h = new KeyedOneInputStreamOperatorTestHarness<>(
          stage, new EntityKeySelector(engine), Types.STRING, env);
      h.setStateBackend(backend);
      h.setup(new FeatureEventSerializer(spec.schema().toString(), 2));
      if (restore != null) {
        h.initializeState(restore);
      }
      h.open();
    }

    void process(FeatureEvent e) throws Exception {
      h.processElement(new StreamRecord<>(e));
    }

    void watermark(long t) throws Exception {
      h.processWatermark(new org.apache.flink.streaming.api.watermark.Watermark(t));
    }

    /** The stage's gauge {@code vigil.features.<entity>.<name>}. */
    Object gauge(String name) {
      return gauges.get("vigil.features." + engine.entity() + "." + name).getValue();
    }

    /** The stored state of {@code key}, as the stage reads it (null if none or expired). */
    byte[] stateOf(String key) throws Exception {
      KeyedStateBackend<String> backend = h.getOperator().getKeyedStateBackend();
      backend.setCurrentKey(key);
      return backend.getPartitionedState(VoidNamespace.INSTANCE, VoidNamespaceSerializer.INSTANCE,
          FeatureStates.features(engine)).value();
    }

    @Override
    public void close() throws Exception {
      h.close();
    }
  }

  static StateBackend backend(String name) {
    return name.equals("rocksdb") ? new EmbeddedRocksDBStateBackend() : new HashMapStateBackend();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void writesEachEventsValuesAsOfJustBeforeIt(String backend) throws Exception {
    try (Stage x = new Stage(spec(), backend(backend), null)) {
      x.process(event(1, "m", T0, 10));
      x.process(event(2, "m", T0 + 1, 20));
      x.process(event(3, "other", T0 + 2, 5));
      x.process(event(4, "m", T0 + 1, 7)); // same millisecond as event 2: not counted for it
      List<FeatureEvent> out = x.h.extractOutputValues();
      assertThat(out).extracting(e -> e.seq).containsExactly(1L, 2L, 3L, 4L);
      assertThat(out).extracting(e -> e.values[0]).containsExactly(0L, 1L, 0L, 1L);
      assertThat(out).extracting(e -> e.values[1]).containsExactly(0L, 10L, 0L, 10L);
      assertThat(out).noneMatch(e -> e.late);
      assertThat(x.stateOf("m")).isNotNull();
      assertThat(x.stateOf("other")).isNotNull();
      assertThat(x.stateOf("never-seen")).isNull();
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void lateEventsGoToTheSideOutputAreCountedAndLeaveStateAlone(String backend) throws Exception {
    try (Stage x = new Stage(spec(), backend(backend), null)) {
      x.process(event(1, "m", T0 + 5 * HOUR, 10));
      byte[] before = x.stateOf("m");
      x.process(event(2, "m", T0, 20)); // 5 h older than the newest, window 1 h: late
      assertThat(x.stateOf("m")).as("a late event does not write state").isEqualTo(before);
      x.process(event(3, "m", T0 + 5 * HOUR + 1, 30));

      var late = x.h.getSideOutput(FeatureStage.lateTag(x.type));
      assertThat(late).hasSize(1);
      assertThat(late.peek().getValue().seq).isEqualTo(2);
      assertThat(x.counters.get("vigil.features.merchant.late").getCount()).isEqualTo(1);

      List<FeatureEvent> out = x.h.extractOutputValues();
      assertThat(out).extracting(e -> e.late).containsExactly(false, true, false);
      assertThat(out.get(1).values).containsOnlyNulls();
      assertThat(out.get(2).values).containsExactly(1L, 10L); // the late 20 was not counted
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void aRetriedTransactionIdIsMarkedDuplicateAndNotCountedAgain(String backend) throws Exception {
    try (Stage x = new Stage(spec(), backend(backend), null, Duration.ofHours(24), 0)) {
      x.process(event(1, "m", T0, 10));
      byte[] before = x.stateOf("m");
      FeatureEvent retry = event(1, "m", T0, 10); // same transaction id "t1": a producer retry
      retry.seq = 2;
      x.process(retry);
      assertThat(x.stateOf("m")).as("a duplicate does not write state").isEqualTo(before);
      x.process(event(3, "m", T0 + MINUTE, 30));

      List<FeatureEvent> out = x.h.extractOutputValues();
      assertThat(out).extracting(e -> e.duplicate).containsExactly(false, true, false);
      assertThat(out.get(1).values).containsOnlyNulls();
      assertThat(out.get(2).values).as("the retry was not counted").containsExactly(1L, 10L);
      assertThat(x.counters.get("vigil.features.merchant.duplicates").getCount()).isEqualTo(1);
    }
  }

  @Test
  void withoutADedupeHorizonTheSameIdCountsTwice() throws Exception {
    try (Stage x = new Stage(spec(), new HashMapStateBackend(), null)) {
      x.process(event(1, "m", T0, 10));
      x.process(event(1, "m", T0 + MINUTE, 10));
      List<FeatureEvent> out = x.h.extractOutputValues();
      assertThat(out).noneMatch(e -> e.duplicate);
      assertThat(out.get(1).values).containsExactly(1L, 10L);
    }
  }

  @Test
  void anEventWithoutAKeyPassesWithNullsAndIsCounted() throws Exception {
    String yaml = "source: {subject: payments.transactions-value, event_time: event_time}\n"
        + "entities: {device: device_id}\nfeatures:\n"
        + "  - {name: d1h, entity: device, aggregation: count, window: 1h}\n"
        + "  - {name: ds1h, entity: device, aggregation: sum, field: amount_cents, window: 1h}\n";
    FeatureSpec s = FeatureSpec.parse(yaml, "test", null);
    CompiledSpec devices = CompiledSpec.compile(s, CompiledSpec.sourceSchema(s, "test"), "test");
    try (Stage x = new Stage(devices, new HashMapStateBackend(), null)) {
      x.process(event(1, "m", T0, 10)); // device_id is null
      assertThat(x.h.extractOutputValues().get(0).values).containsOnlyNulls();
      assertThat(x.counters.get("vigil.features.device.missing_key").getCount()).isEqualTo(1);
      assertThat(x.h.numKeyedStateEntries()).isZero();
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void tilesOlderThanTheLongestWindowAreEvictedSoStateStaysBounded(String backend)
      throws Exception {
    try (Stage x = new Stage(spec(), backend(backend), null)) {
      Map<Long, Integer> bytesAtHour = new HashMap<>();
      long seq = 0;
      // one event every 5 minutes for 3 days (tiles of 5 minutes, window 1 h)
      for (long t = T0; t < T0 + 72 * HOUR; t += 5 * MINUTE) {
        x.process(event(seq++, "m", t, 100));
        if ((t - T0) % HOUR == 0) {
          bytesAtHour.put((t - T0) / HOUR, x.stateOf("m").length);
        }
      }
      int oneTile = bytesAtHour.get(0L);
      int fullWindow = bytesAtHour.get(2L);
      assertThat(fullWindow).as("the state grows while the window fills").isGreaterThan(oneTile);
      assertThat(bytesAtHour.get(71L)).as("3 days in: only a window's worth of tiles is kept")
          .isLessThanOrEqualTo(fullWindow);
      assertThat(x.engine.tileCount(x.stateOf("m"), "n1h")).isLessThanOrEqualTo(13);
      List<FeatureEvent> out = x.h.extractOutputValues();
      // 1 h window, resolution 5 min, events exactly on tile boundaries: the last 12 events
      assertThat(out.get(out.size() - 1).values).containsExactly(12L, 1200L);
    }
  }

  /** The due time of a key whose newest event is at {@code newest}: TTL (+ lag) rounded up. */
  static long due(long newest, long expiry) {
    long step = Math.max(1_000L, expiry / 16);
    return (newest + expiry + step - 1) / step * step;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void anIdleKeysStateIsDroppedOnceTheWatermarkPassesItsNewestEventPlusTheTtl(String backend)
      throws Exception {
    try (Stage x = new Stage(spec(), backend(backend), null, null, 4)) {
      long ttl = x.engine.stateTtlMillis().orElseThrow();
      // TTL = longest window (1 h) + its tail (5 min), in event time
      assertThat(ttl).isEqualTo(HOUR + 5 * MINUTE);
      x.process(event(1, "idle", T0, 10));
      x.process(event(2, "busy", T0, 10));
      x.process(event(3, "busy", T0 + 30 * MINUTE, 10)); // moves busy's expiry on
      assertThat(x.gauge("keys")).isEqualTo(2L);
      x.watermark(due(T0, ttl) - 1);
      assertThat(x.gauge("keys")).as("not due yet").isEqualTo(2L);
      x.watermark(due(T0, ttl));
      assertThat(x.gauge("keys")).as("idle's due: dropped (from the cache)").isEqualTo(1L);
      assertThat(x.gauge("expired")).isEqualTo(1L);
      x.process(event(4, "idle", due(T0, ttl) + 1, 10));
      x.process(event(5, "busy", due(T0, ttl) + 1, 10));
      assertThat(x.h.extractOutputValues().get(3).values[0]).as("a new key").isEqualTo(0L);
      assertThat(x.h.extractOutputValues().get(4).values[0]).as("kept").isEqualTo(1L);
      assertThat(x.gauge("keys")).isEqualTo(2L);
      x.h.prepareSnapshotPreBarrier(1L);
      assertThat(x.stateOf("idle")).isNotNull();
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void anOutageLongerThanTheTtlLosesNoState(String backend) throws Exception {
    OperatorSubtaskState snapshot;
    try (Stage x = new Stage(spec(), backend(backend), null, null, 4)) {
      x.h.setProcessingTime(0);
      x.process(event(1, "m", T0, 10));
      x.process(event(2, "m", T0 + 1, 10));
      x.h.prepareSnapshotPreBarrier(1L);
      snapshot = x.h.snapshot(1L, 1L);
    }
    // Down for two days, then the events that waited in the topic: their event times are minutes
    // after the state's newest, so they read it (with processing-time TTL they read a new key).
    try (Stage y = new Stage(spec(), backend(backend), snapshot, null, 4)) {
      y.h.setProcessingTime(2 * 24 * HOUR);
      y.h.setStateTtlProcessingTime(2 * 24 * HOUR);
      y.process(event(3, "m", T0 + 2, 10));
      assertThat(y.h.extractOutputValues().get(0).values[0]).isEqualTo(2L);
      assertThat(y.gauge("keys")).isEqualTo(1L);
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void expiryTimersAndTheKeyCountSurviveARestore(String backend) throws Exception {
    OperatorSubtaskState snapshot;
    long ttl;
    try (Stage x = new Stage(spec(), backend(backend), null, null, 4)) {
      ttl = x.engine.stateTtlMillis().orElseThrow();
      for (int i = 0; i < 10; i++) {
        x.process(event(i, "k" + i, T0 + i * 10 * MINUTE, 10)); // in the cache, not yet in state
      }
      x.h.prepareSnapshotPreBarrier(1L);
      snapshot = x.h.snapshot(1L, 1L);
    }
    try (Stage y = new Stage(spec(), backend(backend), snapshot, null, 4)) {
      assertThat(y.gauge("keys")).isEqualTo(10L);
      y.watermark(due(T0 + 40 * MINUTE, ttl));
      assertThat(y.gauge("keys")).as("k0..k4 due").isEqualTo(5L);
      assertThat(y.stateOf("k4")).isNull();
      assertThat(y.stateOf("k5")).isNotNull();
    }
  }

  /**
   * A savepoint from the state tools holds the keyed state and nothing else (no timers, no counts,
   * no spec description): the stage counts the keys and sets their timers once, on restore.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void aToolsSavepointGetsItsKeysCountedAndTheirTimersSet(String backend) throws Exception {
    OperatorSubtaskState full;
    long ttl;
    try (Stage x = new Stage(spec(), backend(backend), null)) {
      ttl = x.engine.stateTtlMillis().orElseThrow();
      for (int i = 0; i < 6; i++) {
        x.process(event(i, "k" + i, T0 + i * 10 * MINUTE, 10));
      }
      full = x.h.snapshot(1L, 1L);
    }
    OperatorSubtaskState keyedOnly = OperatorSubtaskState.builder()
        .setManagedKeyedState(full.getManagedKeyedState()).build();
    try (Stage y = new Stage(spec(), backend(backend), keyedOnly)) {
      assertThat(y.gauge("keys")).isEqualTo(6L);
      y.watermark(due(T0 + 20 * MINUTE, ttl));
      assertThat(y.gauge("keys")).as("k0..k2 due").isEqualTo(3L);
      assertThat(y.stateOf("k2")).isNull();
      assertThat(y.stateOf("k3")).isNotNull();
    }
  }

  /**
   * The end of a bounded input, or a drain, fires every timer at once: the state stays (for the
   * savepoint), and a restore from that savepoint sets the timers again.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void aDrainKeepsTheStateAndTheRestoreSetsTheTimersAgain(String backend) throws Exception {
    OperatorSubtaskState snapshot;
    long ttl;
    try (Stage x = new Stage(spec(), backend(backend), null)) {
      ttl = x.engine.stateTtlMillis().orElseThrow();
      x.process(event(1, "a", T0, 10));
      x.process(event(2, "b", T0 + HOUR, 10));
      x.watermark(Long.MAX_VALUE);
      assertThat(x.stateOf("a")).isNotNull();
      assertThat(x.gauge("keys")).isEqualTo(2L);
      snapshot = x.h.snapshot(1L, 1L);
    }
    try (Stage y = new Stage(spec(), backend(backend), snapshot)) {
      assertThat(y.gauge("keys")).isEqualTo(2L);
      y.watermark(due(T0, ttl));
      assertThat(y.stateOf("a")).isNull();
      assertThat(y.stateOf("b")).isNotNull();
    }
  }

  /** Writes given states under the name and with the processing-time TTL of Vigil before 2026-12. */
  static final class OldTtlWriter extends org.apache.flink.streaming.api.operators.AbstractStreamOperator<String>
      implements org.apache.flink.streaming.api.operators.OneInputStreamOperator<FeatureEvent, String> {
    private final EntityEngine engine;
    private transient org.apache.flink.api.common.state.ValueState<byte[]> state;

    OldTtlWriter(EntityEngine engine) {
      this.engine = engine;
    }

    @Override
    public void open() throws Exception {
      var d = new org.apache.flink.api.common.state.ValueStateDescriptor<>(FeatureStates.FEATURES,
          org.apache.flink.api.common.typeutils.base.array.BytePrimitiveArraySerializer.INSTANCE);
      d.enableTimeToLive(org.apache.flink.api.common.state.StateTtlConfig
          .newBuilder(Duration.ofMillis(engine.stateTtlMillis().orElseThrow()))
          .updateTtlOnCreateAndWrite().neverReturnExpired().cleanupFullSnapshot()
          .cleanupInRocksdbCompactFilter(1000).build());
      state = getRuntimeContext().getState(d);
    }

    @Override
    public void processElement(StreamRecord<FeatureEvent> r) throws Exception {
      state.update(engine.apply(state.value(), r.getValue().event).newState());
    }
  }

  /**
   * A savepoint of a Vigil that kept the features state with Flink's processing-time TTL restores
   * (Flink migrates the state off its TTL serializer), and the stage counts the keys and sets
   * their event-time timers.
   */
  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void aSavepointWithTheOldProcessingTimeTtlRestoresAndItsKeysGetTimers(String backend)
      throws Exception {
    EntityEngine engine = spec().engines().get(0);
    long ttl = engine.stateTtlMillis().orElseThrow();
    OperatorSubtaskState old;
    try (var w = new KeyedOneInputStreamOperatorTestHarness<String, FeatureEvent, String>(
        new OldTtlWriter(engine), new EntityKeySelector(engine), Types.STRING)) {
      w.setStateBackend(backend(backend));
      w.open();
      w.processElement(new StreamRecord<>(event(1, "a", T0, 10)));
      w.processElement(new StreamRecord<>(event(2, "b", T0 + HOUR, 10)));
      old = OperatorSubtaskState.builder().setManagedKeyedState(w.snapshot(1L, 1L)
          .getManagedKeyedState()).build();
    }
    try (Stage y = new Stage(spec(), backend(backend), old)) {
      assertThat(y.gauge("keys")).isEqualTo(2L);
      y.process(event(3, "b", T0 + HOUR + 1, 10));
      assertThat(y.h.extractOutputValues().get(0).values[0]).isEqualTo(1L);
      y.watermark(due(T0, ttl));
      assertThat(y.stateOf("a")).isNull();
      assertThat(y.stateOf("b")).isNotNull();
    }
  }

  @Test
  void withAnAsOfLagAStateIsKeptTheLagLongerForTheReadsBehindTheWatermark() throws Exception {
    String yaml = "source: {subject: payments.transactions-value, event_time: event_time}\n"
        + "entities: {merchant: {key: merchant_id, as_of: 10m}}\nfeatures:\n"
        + "  - {name: n1h, entity: merchant, aggregation: count, window: 1h}\n"
        + "  - {name: s1h, entity: merchant, aggregation: sum, field: amount_cents, window: 1h}\n";
    FeatureSpec fs = FeatureSpec.parse(yaml, "test", null);
    CompiledSpec spec = CompiledSpec.compile(fs, CompiledSpec.sourceSchema(fs, "test"), "test");
    try (Stage x = new Stage(spec, new HashMapStateBackend(), null, null, 0,
        fs.timingOf("merchant"))) {
      long ttl = x.engine.stateTtlMillis().orElseThrow();
      x.process(event(1, "m", T0, 10));
      x.watermark(T0 + 10 * MINUTE); // the update is applied (t + lag)
      assertThat(x.stateOf("m")).isNotNull();
      x.watermark(due(T0, ttl) + 5 * MINUTE); // past newest + TTL, not past + lag
      assertThat(x.stateOf("m")).isNotNull();
      x.watermark(due(T0, ttl + 10 * MINUTE));
      assertThat(x.stateOf("m")).isNull();
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void stateSurvivesASnapshotAndRestore(String backend) throws Exception {
    OperatorSubtaskState snapshot;
    try (Stage before = new Stage(spec(), backend(backend), null)) {
      before.process(event(1, "m", T0, 10));
      before.process(event(2, "m", T0 + MINUTE, 20));
      snapshot = before.h.snapshot(1L, 1L);
    }
    try (Stage after = new Stage(spec(), backend(backend), snapshot)) {
      after.process(event(3, "m", T0 + 2 * MINUTE, 30));
      assertThat(after.h.extractOutputValues().get(0).values).containsExactly(2L, 30L);
    }
  }

  /** Events of {@code RandomStreams} over many keys, as the stage's input. */
  static List<FeatureEvent> randomEvents(long seed) {
    List<dev.vigil.avro.Transaction> txs =
        dev.vigil.transforms.testing.RandomStreams.generate(seed, 3000, 7, 40);
    List<FeatureEvent> events = new java.util.ArrayList<>();
    for (int i = 0; i < txs.size(); i++) {
      events.add(new FeatureEvent(txs.get(i), i, 2));
    }
    return events;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void aSmallCacheThatKeepsEvictingGivesTheValuesOfWriteThrough(String backend) throws Exception {
    List<FeatureEvent> expected;
    try (Stage through = new Stage(spec(), backend(backend), null)) {
      for (FeatureEvent e : randomEvents(7)) {
        through.process(e);
      }
      expected = through.h.extractOutputValues();
    }
    try (Stage cached = new Stage(spec(), backend(backend), null, null, 5)) {
      List<FeatureEvent> in = randomEvents(7);
      for (int i = 0; i < in.size(); i++) {
        cached.process(in.get(i));
        if (i % 500 == 499) {
          cached.h.prepareSnapshotPreBarrier(i); // a checkpoint now and then empties the cache
        }
      }
      assertThat(cached.h.extractOutputValues()).isEqualTo(expected);
    }
  }

  @Test
  void aKeyHitBetweenEvictionsStaysInTheCacheWhileOneOffKeysComeAndGo() throws Exception {
    // Second chance: the hot key's bit saves it each time the hand comes round; a plain FIFO
    // would evict it every third event and write it to state.
    try (Stage cached = new Stage(spec(), new HashMapStateBackend(), null, null, 2)) {
      for (int i = 0; i < 200; i++) {
        cached.process(event(2 * i, "hot", T0 + i * 60_000L, 10));
        cached.process(event(2 * i + 1, "m" + i, T0 + i * 60_000L, 10));
      }
      assertThat(cached.stateOf("hot")).as("never evicted, so never written").isNull();
      assertThat(cached.stateOf("m0")).as("evicted and written").isNotNull();
      assertThat(cached.stateOf("m197")).isNotNull();
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void cachedValuesReachTheSnapshotAtTheBarrierAndRestoreToTheSameState(String backend)
      throws Exception {
    Map<String, byte[]> expected = new HashMap<>();
    try (Stage through = new Stage(spec(), backend(backend), null)) {
      for (FeatureEvent e : randomEvents(11)) {
        through.process(e);
      }
      for (FeatureEvent e : randomEvents(11)) {
        expected.put(e.event.get(2).toString(), through.stateOf(e.event.get(2).toString()));
      }
    }
    OperatorSubtaskState snapshot;
    try (Stage cached = new Stage(spec(), backend(backend), null, null, 1000)) {
      for (FeatureEvent e : randomEvents(11)) {
        cached.process(e);
      }
      assertThat(expected.get("m0")).isNotNull();
      assertThat(cached.stateOf("m0")).as("held in the cache, not yet written").isNull();
      cached.h.prepareSnapshotPreBarrier(1L); // what the task does before every snapshot
      snapshot = cached.h.snapshot(1L, 1L);
    }
    try (Stage restored = new Stage(spec(), backend(backend), snapshot, null, 1000)) {
      for (Map.Entry<String, byte[]> e : expected.entrySet()) {
        assertThat(restored.stateOf(e.getKey())).as(e.getKey()).isEqualTo(e.getValue());
      }
    }
  }

  @Test
  void theLastValuesReachStateWhenABoundedInputEnds() throws Exception {
    try (Stage cached = new Stage(spec(), new HashMapStateBackend(), null, null, 1000)) {
      cached.process(event(1, "m", T0, 10));
      assertThat(cached.stateOf("m")).isNull();
      cached.h.endInput();
      cached.h.getOperator().finish();
      assertThat(cached.stateOf("m")).isNotNull();
    }
  }

  static CompiledSpec spec(String features) throws Exception {
    String yaml = "source: {subject: payments.transactions-value, event_time: event_time}\n"
        + "entities: {merchant: merchant_id}\nfeatures:\n" + features;
    FeatureSpec s = FeatureSpec.parse(yaml, "test", null);
    return CompiledSpec.compile(s, CompiledSpec.sourceSchema(s, "test"), "test");
  }

  /** The exception that restoring {@code snapshot} under {@code spec} fails with, or null. */
  static Throwable restoreUnder(CompiledSpec spec, OperatorSubtaskState snapshot) throws Exception {
    try (Stage restored = new Stage(spec, new HashMapStateBackend(), snapshot)) {
      return null;
    } catch (Exception e) {
      return e;
    }
  }

  @Test
  void aRestoreUnderAChangedSpecIsRefusedForGoodSayingWhatChangedAndHowToMigrate()
      throws Exception {
    OperatorSubtaskState snapshot;
    try (Stage x = new Stage(spec(), new HashMapStateBackend(), null)) {
      x.process(event(1, "m1", T0, 10));
      snapshot = x.h.snapshot(1L, 1L);
    }
    assertThat(restoreUnder(spec(), snapshot)).as("the same spec").isNull();

    Throwable changed = restoreUnder(spec(
        "  - {name: n1h, entity: merchant, aggregation: count, window: 1h}\n"
            + "  - {name: s1h, entity: merchant, aggregation: sum, field: amount_cents, window: 2h}\n"),
        snapshot);
    assertThat(changed).isInstanceOf(org.apache.flink.runtime.execution.SuppressRestartsException.class);
    assertThat(changed.getCause().getMessage())
        .contains("feature stage 'merchant': the state being restored was written under another"
            + " spec", "changed: s1h: sum(amount_cents) window 1h resolution", "-> sum(amount_cents) window 2h",
            "`vigil state bootstrap`")
        .doesNotContain("add-feature");

    Throwable added = restoreUnder(spec(
        "  - {name: n1h, entity: merchant, aggregation: count, window: 1h}\n"
            + "  - {name: s1h, entity: merchant, aggregation: sum, field: amount_cents, window: 1h}\n"
            + "  - {name: m1h, entity: merchant, aggregation: max, field: amount_cents, window: 1h}\n"),
        snapshot);
    assertThat(added.getCause().getMessage()).contains("added: m1h: max(amount_cents) window 1h",
        "vigil state add-feature --savepoint <it> --old-spec <the old spec>");

    Throwable reordered = restoreUnder(spec(
        "  - {name: s1h, entity: merchant, aggregation: sum, field: amount_cents, window: 1h}\n"
            + "  - {name: n1h, entity: merchant, aggregation: count, window: 1h}\n"), snapshot);
    assertThat(reordered.getCause().getMessage()).contains("reordered", "was: n1h, s1h",
        "now: s1h, n1h");
  }

  @Test
  void aStartWithoutStateIsRefusedWhenToldToAndAllowedOtherwise() throws Exception {
    CompiledSpec spec = spec();
    EntityEngine engine = spec.engines().get(0);
    FeatureEventTypeInfo type = FeaturePipeline.typeOf(spec);
    for (boolean refuse : new boolean[] {false, true}) {
      FeatureStage stage = new FeatureStage(engine, new int[] {0, 1}, FeatureStage.lateTag(type),
          -1, null, 0).refuseEmptyStart(refuse);
      var h = new KeyedOneInputStreamOperatorTestHarness<>(stage, new EntityKeySelector(engine),
          Types.STRING);
      h.setup(new FeatureEventSerializer(spec.schema().toString(), 2));
      try {
        if (refuse) {
          org.assertj.core.api.Assertions.assertThatThrownBy(h::open)
              .isInstanceOf(org.apache.flink.runtime.execution.SuppressRestartsException.class)
              .cause().hasMessageContaining("the job starts without state")
              .hasMessageContaining("state.empty-start=allow");
        } else {
          h.open();
        }
      } finally {
        try {
          h.close();
        } catch (Exception ignored) {
          // a harness whose open failed may not close cleanly
        }
      }
    }
  }
}
