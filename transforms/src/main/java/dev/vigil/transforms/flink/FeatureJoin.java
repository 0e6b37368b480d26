package dev.vigil.transforms.flink;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.common.typeutils.TypeSerializer;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.api.java.typeutils.TupleTypeInfo;
import org.apache.flink.runtime.state.VoidNamespace;
import org.apache.flink.streaming.api.operators.AbstractStreamOperator;
import org.apache.flink.streaming.api.operators.OneInputStreamOperator;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;

/**
 * Fan-in of the entity stages: each stage fills its own slots of a copy of the event; keyed by the
 * event's {@code seq}, this waits for all {@code branches} copies, merges their values and emits
 * the event once.
 *
 * <p>Events in flight wait in a heap map, not in keyed state: every stage sees an event before
 * the checkpoint barrier that follows it, so with aligned checkpoints both copies of every event
 * before a barrier have arrived when the join snapshots, and the map is empty. Whatever is still
 * in it at a barrier (unaligned checkpoints, or a stage that emits late) is written to keyed state
 * ({@link #pendingDescriptor}) before the snapshot and read back into the map on restore, so
 * nothing in flight is lost either way. The common case costs no state access per event, where a
 * keyed-state join costs a read and a write or delete per copy (native calls on RocksDB).
 */
public final class FeatureJoin extends AbstractStreamOperator<FeatureEvent>
    implements OneInputStreamOperator<FeatureEvent, FeatureEvent> {
  private static final long serialVersionUID = 2L;
  private final int branches;
  private final FeatureEventTypeInfo type;
  private transient Map<Long, Tuple2<Integer, FeatureEvent>> pending;
  /** Seqs written to {@link #spilled} at a barrier and not yet completed: cleared when they are. */
  private transient Set<Long> spilledSeqs;
  private transient ValueState<Tuple2<Integer, FeatureEvent>> spilled;
  private transient TypeSerializer<FeatureEvent> copier;

  public FeatureJoin(int branches, FeatureEventTypeInfo type) {
    this.branches = branches;
    this.type = type;
  }

  /** Events in flight at a checkpoint: copies seen so far and their merged values. */
  public static ValueStateDescriptor<Tuple2<Integer, FeatureEvent>> pendingDescriptor(
      FeatureEventTypeInfo type) {
    return new ValueStateDescriptor<>("pending", new TupleTypeInfo<>(Types.INT, type));
  }

  @Override
  public void open() throws Exception {
    super.open();
    pending = new HashMap<>();
    spilledSeqs = new HashSet<>();
    spilled = getRuntimeContext().getState(pendingDescriptor(type));
    copier = type.createSerializer(getExecutionConfig().getSerializerConfig());
    // Restored in-flight events (normally none) go back to the map.
    List<Long> restored = new ArrayList<>();
    try (var keys = getKeyedStateBackend().<VoidNamespace>getKeys("pending",
        VoidNamespace.INSTANCE)) {
      keys.forEach(k -> restored.add((Long) k));
    }
    for (Long seq : restored) {
      setCurrentKey(seq);
      Tuple2<Integer, FeatureEvent> value = spilled.value();
      if (value != null) {
        pending.put(seq, value);
        spilledSeqs.add(seq);
      }
    }
  }

  @Override
  public void processElement(StreamRecord<FeatureEvent> record) throws Exception {
    FeatureEvent e = record.getValue();
    Tuple2<Integer, FeatureEvent> seen = pending.get(e.seq);
    if (seen == null) {
      seen = Tuple2.of(0, e);
      pending.put(e.seq, seen);
    } else {
      FeatureEvent merged = seen.f1;
      for (int i = 0; i < e.values.length; i++) {
        if (e.values[i] != null) {
          merged.values[i] = e.values[i];
        }
      }
      merged.late |= e.late;
      merged.duplicate |= e.duplicate;
    }
    seen.f0 += 1;
    if (seen.f0 == branches) {
      pending.remove(e.seq);
      if (!spilledSeqs.isEmpty() && spilledSeqs.remove(e.seq)) {
        spilled.clear(); // the current key is e.seq
      }
      output.collect(record.replace(seen.f1));
    }
  }

  /** Writes what is still in flight (normally nothing) to keyed state before the snapshot. */
  @Override
  public void prepareSnapshotPreBarrier(long checkpointId) throws Exception {
    super.prepareSnapshotPreBarrier(checkpointId);
    for (Map.Entry<Long, Tuple2<Integer, FeatureEvent>> entry : pending.entrySet()) {
      setCurrentKey(entry.getKey());
      // A copy: the map's entry keeps changing, and a heap state backend snapshots by reference.
      spilled.update(Tuple2.of(entry.getValue().f0, copier.copy(entry.getValue().f1)));
      spilledSeqs.add(entry.getKey());
    }
  }
}
