package dev.vigil.transforms.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.EntityTiming;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.clusterframework.types.ResourceID;
import org.apache.flink.runtime.executiongraph.ExecutionAttemptID;
import org.apache.flink.runtime.metrics.groups.TaskManagerMetricGroup;
import org.apache.flink.runtime.metrics.util.TestingMetricRegistry;
import org.apache.flink.runtime.operators.testutils.MockEnvironment;
import org.apache.flink.runtime.operators.testutils.MockEnvironmentBuilder;
import org.apache.flink.runtime.state.hashmap.HashMapStateBackend;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.runtime.watermarkstatus.WatermarkStatus;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.api.Test;

/**
 * An event-time feature stage in an operator harness: what it tells the next operator about
 * idleness, and its in-flight count per input partition (the job's reconciliation).
 */
class EventTimeStageTest {
  static final long T0 = FeatureStageTest.T0;

  /** The scoring job's seq layout: partition in the top bits. */
  static long seq(int partition, long offset) {
    return ((long) partition << 48) | offset;
  }

  static final class Stage implements AutoCloseable {
    final KeyedOneInputStreamOperatorTestHarness<String, FeatureEvent, FeatureEvent> h;
    final Map<String, Gauge<?>> gauges = new HashMap<>();

    Stage(OperatorSubtaskState restore) throws Exception {
      CompiledSpec spec = FeatureStageTest.spec();
      EntityEngine engine = spec.engines().get(0);
      FeatureEventTypeInfo type = FeaturePipeline.typeOf(spec);
      FeatureStage stage = new FeatureStage(engine, new int[] {0, 1}, FeatureStage.lateTag(type),
          -1, null, 0, new EntityTiming(EntityTiming.Ordering.EVENT_TIME, 0), type)
          .countInFlight(s -> (int) (s >>> 48));
      TestingMetricRegistry registry = TestingMetricRegistry.builder()
          .setRegisterConsumer((metric, name, group) -> {
            if (metric instanceof Gauge<?> g) {
              gauges.put(group.getMetricIdentifier(name), g);
            }
          })
          .build();
      MockEnvironment env = new MockEnvironmentBuilder()
          .setMetricGroup(TaskManagerMetricGroup.createTaskManagerMetricGroup(
                  registry, "localhost", ResourceID.generate())
              .addJob(new JobID(), "test")
              .addTask(ExecutionAttemptID.randomId(), "features"))
          .build();
      h = new KeyedOneInputStreamOperatorTestHarness<>(stage, new EntityKeySelector(engine),
          Types.STRING, env);
      h.setStateBackend(new HashMapStateBackend());
      h.setup(new FeatureEventSerializer(spec.schema().toString(), 2));
      if (restore != null) {
        h.initializeState(restore);
      }
      h.open();
    }

    /** The published in-flight count of {@code partition} (0 when it has no gauge). */
    long inFlight(int partition) {
      for (Map.Entry<String, Gauge<?>> e : gauges.entrySet()) {
        if (e.getKey().endsWith(".vigil.reconcile.partition." + partition + ".in_flight")) {
          return ((Number) e.getValue().getValue()).longValue();
        }
      }
      return 0;
    }

    long checkpoint() {
      for (Map.Entry<String, Gauge<?>> e : gauges.entrySet()) {
        if (e.getKey().endsWith(".vigil.reconcile.in_flight_checkpoint")) {
          return ((Number) e.getValue().getValue()).longValue();
        }
      }
      throw new AssertionError("no in_flight_checkpoint gauge among " + gauges.keySet());
    }

    @Override
    public void close() throws Exception {
      h.close();
    }
  }

  @Test
  void itsOutputNeverGoesIdleSoTheNextStageWaitsForEverySubtaskOfThisOne() throws Exception {
    try (Stage x = new Stage(null)) {
      x.h.processWatermark(new Watermark(T0));
      x.h.processWatermarkStatus(WatermarkStatus.IDLE);
      x.h.processWatermarkStatus(WatermarkStatus.ACTIVE);
      x.h.processWatermark(new Watermark(T0 + 1));
      List<Object> out = List.copyOf(x.h.getOutput());
      assertThat(out).noneMatch(o -> o instanceof WatermarkStatus);
      assertThat(out).filteredOn(o -> o instanceof Watermark).hasSize(2);
    }
  }

  @Test
  void countsWhatWaitsPerPartitionAsOfTheLastCompletedCheckpointAndAcrossARestore()
      throws Exception {
    OperatorSubtaskState snapshot;
    try (Stage x = new Stage(null)) {
      x.h.processElement(new StreamRecord<>(FeatureStageTest.event(seq(0, 1), "m", T0, 1)));
      x.h.processElement(new StreamRecord<>(FeatureStageTest.event(seq(1, 1), "m", T0 + 1, 1)));
      x.h.processElement(new StreamRecord<>(FeatureStageTest.event(seq(1, 2), "k", T0 + 2, 1)));
      assertThat(x.inFlight(1)).as("before a checkpoint").isZero();
      x.h.prepareSnapshotPreBarrier(1); // as the task does, before the snapshot
      snapshot = x.h.snapshot(1, 0);
      assertThat(x.inFlight(1)).as("checkpoint 1 taken, not completed").isZero();
      x.h.notifyOfCompletedCheckpoint(1);
      assertThat(x.checkpoint()).isEqualTo(1);
      assertThat(x.inFlight(0)).isEqualTo(1);
      assertThat(x.inFlight(1)).isEqualTo(2);

      x.h.processWatermark(new Watermark(T0 + 1)); // releases the first two
      x.h.prepareSnapshotPreBarrier(2); // as the task does, before the snapshot
      x.h.snapshot(2, 0);
      x.h.prepareSnapshotPreBarrier(3); // as the task does, before the snapshot
      x.h.snapshot(3, 0);
      x.h.notifyOfCompletedCheckpoint(3); // subsumes 2
      assertThat(x.checkpoint()).isEqualTo(3);
      assertThat(x.inFlight(0)).isZero();
      assertThat(x.inFlight(1)).isEqualTo(1);
    }
    try (Stage y = new Stage(snapshot)) {
      // restored from checkpoint 1: its waiting events wait again, and count from the start
      assertThat(y.inFlight(0)).isEqualTo(1);
      assertThat(y.inFlight(1)).isEqualTo(2);
      y.h.processWatermark(new Watermark(T0 + 10));
      assertThat(y.h.extractOutputValues()).hasSize(3);
      y.h.prepareSnapshotPreBarrier(4); // as the task does, before the snapshot
      y.h.snapshot(4, 0);
      y.h.notifyOfCompletedCheckpoint(4);
      assertThat(y.inFlight(0)).isZero();
      assertThat(y.inFlight(1)).isZero();
    }
  }
}
