package dev.vigil.transforms.flink;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.api.common.state.ListState;
import org.apache.flink.api.common.state.ListStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.state.FunctionInitializationContext;

/**
 * One operator's count per input partition, published as of its last completed checkpoint, so
 * that counts taken at different operators can be added up exactly: the run-time reconciliation
 * of the scoring job ({@code docs/scoring-job.md}, "Reconciliation").
 *
 * <p>Why as of a checkpoint: with aligned checkpoints, a checkpoint is a cut through the whole job
 * at which no record is between two operators. Each operator's count at its barrier therefore
 * covers the same records: at checkpoint {@code N}, per partition, <i>records read = scored +
 * dead-lettered + waiting in a stage</i>, exactly, whatever the parallelism or the timing. Live
 * counts, scraped at one moment, differ by whatever is on the wire, and cannot be added up.
 *
 * <p>Metrics, in the group handed to {@link #open} (the job's {@code vigil.reconcile}): per
 * partition a gauge {@code partition.<p>.<name>} (a Prometheus label {@code partition}), and the
 * checkpoint they are as of, a gauge {@code <name>_checkpoint} (the restored one after a restore, 0
 * before the first). Counts that go on from run to run (records read, scored, dead-lettered:
 * {@link #kept}) are in operator state as {@code [partition, count]} pairs: redistributed on a
 * rescale, their sum per partition is what the subtasks add up. One per operator instance, used from its
 * task thread; the gauges read a published array that is swapped whole.
 */
public final class PartitionCounts {
  private final String name;
  private long[] live = new long[0];
  private final TreeMap<Long, long[]> pending = new TreeMap<>();
  /** The counts as of a checkpoint, and which: swapped as one, so no reader sees them mixed. */
  private record Published(long checkpoint, long[] counts) {}

  private volatile Published published = new Published(0, new long[0]);
  private MetricGroup group;
  private int registered;
  /** Where a cumulative count is kept (null: set at each barrier, not kept). */
  private ListState<long[]> state;

  /** {@code name}: the gauge's, e.g. {@code in}, {@code scored}, {@code in_flight}. */
  public PartitionCounts(String name) {
    this.name = name;
  }

  /**
   * A count that goes on across restores, kept in the operator state of {@code context}: the
   * restored counts (of any subtask, after a rescale) are where it starts, and published at once
   * as of the restored checkpoint.
   */
  public static PartitionCounts kept(String name, FunctionInitializationContext context)
      throws Exception {
    PartitionCounts counts = new PartitionCounts(name);
    counts.state = context.getOperatorStateStore().getListState(
        new ListStateDescriptor<>("vigil-reconcile-" + name,
            PrimitiveArrayTypeInfo.LONG_PRIMITIVE_ARRAY_TYPE_INFO));
    if (context.isRestored()) {
      counts.restore(counts.state.get(), context.getRestoredCheckpointId().orElse(0L));
    }
    return counts;
  }

  private void restore(Iterable<long[]> pairs, long checkpointId) {
    for (long[] pair : pairs) {
      int p = (int) pair[0];
      grow(p);
      live[p] += pair[1];
    }
    published = new Published(checkpointId, live.clone());
  }

  /** Registers the gauges under {@code reconcile} (those of the partitions known so far). */
  public void open(MetricGroup reconcile) {
    this.group = reconcile;
    reconcile.gauge(name + "_checkpoint", () -> published.checkpoint());
    register();
  }

  /** One more record of {@code partition}. */
  public void add(int partition) {
    if (partition >= live.length) {
      grow(partition);
    }
    live[partition]++;
  }

  /** Replaces the counts (a snapshot-only count, recomputed at a barrier). */
  public void set(long[] counts) {
    live = counts;
    register();
  }

  /**
   * At checkpoint {@code checkpointId}'s barrier: the counts to publish once it completes, and
   * (a kept count) into the operator state.
   */
  public void snapshot(long checkpointId) throws Exception {
    pending.put(checkpointId, live.clone());
    if (state != null) {
      state.update(pairs());
    }
    register();
  }

  private List<long[]> pairs() {
    List<long[]> pairs = new ArrayList<>();
    for (int p = 0; p < live.length; p++) {
      if (live[p] != 0) {
        pairs.add(new long[] {p, live[p]});
      }
    }
    return pairs;
  }

  /** Checkpoint {@code checkpointId} completed: publishes its counts (or a later one's, subsumed). */
  public void completed(long checkpointId) {
    Map.Entry<Long, long[]> e = pending.floorEntry(checkpointId);
    if (e == null) {
      return;
    }
    published = new Published(e.getKey(), e.getValue());
    pending.headMap(checkpointId, true).clear();
  }

  /** Checkpoint {@code checkpointId} was aborted: its counts are never published. */
  public void aborted(long checkpointId) {
    pending.remove(checkpointId);
  }

  /** The published count of {@code partition} (tests). */
  public long published(int partition) {
    long[] p = published.counts();
    return partition < p.length ? p[partition] : 0;
  }

  private void grow(int partition) {
    if (partition < 0) {
      throw new IllegalArgumentException("partition " + partition);
    }
    if (partition >= live.length) {
      live = Arrays.copyOf(live, partition + 1); // once per partition
    }
  }

  /** A gauge per partition seen so far, registered once (new partitions appear as they come). */
  private void register() {
    if (group == null) {
      return;
    }
    for (; registered < live.length; registered++) {
      int p = registered;
      group.addGroup("partition", Integer.toString(p)).gauge(name, () -> published(p));
    }
  }
}
