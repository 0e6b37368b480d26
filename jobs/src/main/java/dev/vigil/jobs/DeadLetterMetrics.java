package dev.vigil.jobs;

import dev.vigil.avro.DeadLetter;
import java.util.HashMap;
import java.util.Map;
import org.apache.flink.api.common.functions.OpenContext;
import dev.vigil.transforms.flink.PartitionCounts;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.MetricGroup;

/**
 * Counts dead letters per reason ({@code vigil.dead_letters.<reason>}) in front of the dead-letter
 * sink: one place sees every reason, whichever operator dead-lettered the record; and per input
 * partition ({@code vigil.reconcile.partition.<p>.dead_lettered}, as of the last completed
 * checkpoint: {@link PartitionCounts}). Passes records on.
 */
public final class DeadLetterMetrics extends RichMapFunction<DeadLetter, DeadLetter>
    implements CheckpointedFunction, CheckpointListener {
  private static final long serialVersionUID = 1L;
  private transient Map<String, Counter> counters;
  private transient MetricGroup group;
  /** Dead letters per input partition, as of the last completed checkpoint (reconciliation). */
  private transient PartitionCounts byPartition;

  @Override
  public void initializeState(FunctionInitializationContext context) throws Exception {
    byPartition = PartitionCounts.kept("dead_lettered", context);
  }

  @Override
  public void snapshotState(FunctionSnapshotContext context) throws Exception {
    byPartition.snapshot(context.getCheckpointId());
  }

  @Override
  public void notifyCheckpointComplete(long checkpointId) {
    byPartition.completed(checkpointId);
  }

  @Override
  public void notifyCheckpointAborted(long checkpointId) {
    byPartition.aborted(checkpointId);
  }

  @Override
  public void open(OpenContext context) {
    MetricGroup vigil = getRuntimeContext().getMetricGroup().addGroup("vigil");
    group = vigil.addGroup("dead_letters");
    byPartition.open(vigil.addGroup("reconcile"));
    counters = new HashMap<>();
    for (String reason : DeadLetters.REASONS) {
      counters.put(reason, group.counter(reason));
    }
  }

  @Override
  public DeadLetter map(DeadLetter d) {
    counters.computeIfAbsent(d.getReason(), group::counter).inc();
    byPartition.add(d.getSourcePartition());
    return d;
  }
}
