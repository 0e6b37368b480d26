package dev.vigil.jobs;

import dev.vigil.avro.DeadLetter;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.PartitionCounts;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.functions.ProcessFunction;
import org.apache.flink.util.Collector;

/**
 * Decode and validate, one operator (stateless, so chained to the source): each record's {@link
 * RecordDecoder} outcome, a {@link FeatureEvent} on the main output or one {@link DeadLetter} on
 * {@link DeadLetters#TAG}: the job never fails because of a record. The Kafka source's
 * deserializer already decoded the record (so that the watermark saw its event time) and handed
 * the outcome on in {@link RawRecord#decoded}; a record that crossed a process boundary lost it
 * (it is not serialized) and is decoded here again.
 *
 * <p>Registry outages: known ids keep decoding from the cache; an id not yet cached is held back
 * by {@link RegistryHoldBack} (the subtask waits and retries with capped exponential backoff, on
 * purpose: back pressure rather than losing the order) and never dead-lettered; after {@code
 * registry.outage.fail-after} the task fails and the job restarts from its last checkpoint. Only an
 * id the registry answers 404 for is a dead letter ({@code unknown_schema_id}).
 *
 * <p>Counts the records read per input partition ({@code vigil.reconcile.partition.<p>.in}, as of
 * the last completed checkpoint: {@link PartitionCounts}), the first term of the job's
 * reconciliation.
 */
public final class DecodeFunction extends ProcessFunction<RawRecord, FeatureEvent>
    implements CheckpointedFunction, CheckpointListener {
  private static final long serialVersionUID = 2L;

  private final RecordDecoder decoder;
  /** Records read per input partition, as of the last completed checkpoint (reconciliation). */
  private transient PartitionCounts in;

  @Override
  public void initializeState(FunctionInitializationContext context) throws Exception {
    in = PartitionCounts.kept("in", context);
  }

  @Override
  public void snapshotState(FunctionSnapshotContext context) throws Exception {
    in.snapshot(context.getCheckpointId());
  }

  @Override
  public void notifyCheckpointComplete(long checkpointId) {
    in.completed(checkpointId);
  }

  @Override
  public void notifyCheckpointAborted(long checkpointId) {
    in.aborted(checkpointId);
  }

  public DecodeFunction(RecordDecoder decoder) {
    this.decoder = decoder;
  }

  @Override
  public void open(OpenContext context) {
    decoder.open(getRuntimeContext().getMetricGroup());
    in.open(getRuntimeContext().getMetricGroup().addGroup("vigil").addGroup("reconcile"));
  }

  @Override
  public void processElement(RawRecord raw, Context ctx, Collector<FeatureEvent> out) {
    in.add(raw.partition);
    Object decoded = raw.decoded != null ? raw.decoded : decoder.decode(raw);
    raw.decoded = null;
    if (decoded instanceof FeatureEvent e) {
      out.collect(e);
    } else {
      DeadLetter d = (DeadLetter) decoded;
      d.setTask(getRuntimeContext().getTaskInfo().getTaskNameWithSubtasks());
      ctx.output(DeadLetters.TAG, d);
    }
  }
}
