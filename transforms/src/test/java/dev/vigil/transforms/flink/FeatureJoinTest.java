package dev.vigil.transforms.flink;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.transforms.spec.CompiledSpec;
import java.util.List;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.state.StateBackend;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fan-in join in an operator harness: copies merged into one event, nothing kept once it is
 * complete, and an event in flight at a checkpoint carried across a snapshot and restore.
 */
class FeatureJoinTest {
  static final class Join implements AutoCloseable {
    final KeyedOneInputStreamOperatorTestHarness<Long, FeatureEvent, FeatureEvent> h;

    Join(CompiledSpec spec, StateBackend backend, OperatorSubtaskState restore) throws Exception {
      FeatureEventTypeInfo type = FeaturePipeline.typeOf(spec);
      h = new KeyedOneInputStreamOperatorTestHarness<>(new FeatureJoin(2, type),
          new FeaturePipeline.SeqKeySelector(), Types.LONG);
      h.setStateBackend(backend);
      h.setup(new FeatureEventSerializer(spec.schema().toString(), 2));
      if (restore != null) {
        h.initializeState(restore);
      }
      h.open();
    }

    /** Seqs with an entry in the join's keyed state. */
    long keysInState() throws Exception {
      try (var keys = h.getOperator().getKeyedStateBackend()
          .<VoidNamespace>getKeys("pending", VoidNamespace.INSTANCE)) {
        return keys.count();
      }
    }

    void process(FeatureEvent e) throws Exception {
      h.processElement(new StreamRecord<>(e));
    }

    @Override
    public void close() throws Exception {
      h.close();
    }
  }

  /** The copy of event {@code seq} that the stage filling {@code slot} emits. */
  static FeatureEvent copy(long seq, int slot, long value) {
    FeatureEvent e = FeatureStageTest.event(seq, "m", FeatureStageTest.T0, 10);
    e.values[slot] = value;
    return e;
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void bothCopiesMergeIntoOneEventAndNothingIsKept(String backend) throws Exception {
    try (Join j = new Join(FeatureStageTest.spec(), FeatureStageTest.backend(backend), null)) {
      j.process(copy(1, 0, 7));
      j.process(copy(2, 0, 8));
      FeatureEvent late = copy(2, 1, 9);
      late.late = true;
      j.process(late);
      j.process(copy(1, 1, 6));
      List<FeatureEvent> out = j.h.extractOutputValues();
      assertThat(out).extracting(e -> e.seq).containsExactly(2L, 1L);
      assertThat(out.get(0).values).containsExactly(8L, 9L);
      assertThat(out.get(0).late).isTrue();
      assertThat(out.get(1).values).containsExactly(7L, 6L);
      assertThat(j.keysInState()).as("no state per event").isZero();
    }
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"hashmap", "rocksdb"})
  void anEventInFlightAtACheckpointIsCompletedAfterARestore(String backend) throws Exception {
    OperatorSubtaskState snapshot;
    try (Join j = new Join(FeatureStageTest.spec(), FeatureStageTest.backend(backend), null)) {
      j.process(copy(5, 0, 50));
      j.h.prepareSnapshotPreBarrier(1L); // what the task does before every snapshot
      snapshot = j.h.snapshot(1L, 1L);
      assertThat(j.keysInState()).as("the event in flight went to state").isEqualTo(1);
      j.process(copy(6, 0, 60)); // after the snapshot: not in it
      assertThat(j.h.extractOutputValues()).isEmpty();
    }
    try (Join restored = new Join(FeatureStageTest.spec(), FeatureStageTest.backend(backend),
        snapshot)) {
      restored.process(copy(5, 1, 51));
      List<FeatureEvent> out = restored.h.extractOutputValues();
      assertThat(out).hasSize(1);
      assertThat(out.get(0).seq).isEqualTo(5L);
      assertThat(out.get(0).values).containsExactly(50L, 51L);
      assertThat(restored.keysInState()).as("the spilled copy is cleared").isZero();
    }
  }
}
