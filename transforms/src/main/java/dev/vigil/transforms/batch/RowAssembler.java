package dev.vigil.transforms.batch;

import dev.vigil.transforms.io.FeatureRow;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.flink.types.Row;

/**
 * The merge half of the sort-merge join: parts sorted by event time come in (in any order within
 * one time), whole {@link FeatureRow}s go out, one per event, in (event time, ordinal) order. The
 * parts of one event time are held until the next time starts (or {@link #finish}): memory is
 * bounded by the events of one millisecond, not the dataset. Each event must have its base part
 * and exactly one part per entity its base part says has a key, else the join lost or doubled a
 * part and this fails rather than write a row with missing features. Plain Java.
 */
final class RowAssembler {
  private final int featureCount;
  private final int[][] slots;
  private boolean open;
  private long time;
  /** The events of {@link #time}, by ordinal. */
  private final TreeMap<Long, Pending> group = new TreeMap<>();

  /** {@code slots}: per entity, its features' indexes among the spec's features. */
  RowAssembler(int featureCount, int[][] slots) {
    this.featureCount = featureCount;
    this.slots = slots;
  }

  /** Takes the next part; when it starts a later time, returns the rows of the time before. */
  List<FeatureRow> add(Row part) {
    long t = part.<Long>getFieldAs(FeatureParts.TIME);
    List<FeatureRow> done = List.of();
    if (open && t != time) {
      if (t < time) {
        throw new IllegalStateException("parts out of time order: " + t + " after " + time);
      }
      done = finish();
    }
    open = true;
    time = t;
    long ordinal = part.<Long>getFieldAs(FeatureParts.ORDINAL);
    Pending p = group.computeIfAbsent(ordinal, o -> new Pending(featureCount));
    int source = part.<Integer>getFieldAs(FeatureParts.SOURCE);
    if (source == FeatureParts.BASE) {
      if (p.base) {
        throw new IllegalStateException("two base parts for the event of ordinal " + ordinal);
      }
      p.base = true;
      p.id = part.getFieldAs(FeatureParts.ID);
      p.keyed = part.<Integer>getFieldAs(FeatureParts.KEYED);
    } else {
      if ((p.seen & (1 << source)) != 0) {
        throw new IllegalStateException("two parts of entity " + source + " for the event of"
            + " ordinal " + ordinal);
      }
      p.seen |= 1 << source;
      for (int slot : slots[source]) {
        p.values[slot] = part.getField(FeatureParts.VALUES + slot);
      }
    }
    return done;
  }

  /** The rows of the last time taken, in ordinal order; checks each is whole. */
  List<FeatureRow> finish() {
    List<FeatureRow> rows = new ArrayList<>(group.size());
    for (Map.Entry<Long, Pending> e : group.entrySet()) {
      Pending p = e.getValue();
      if (!p.base || p.seen != p.keyed) {
        throw new IllegalStateException("the event of ordinal " + e.getKey() + " at " + time
            + " has " + (p.base ? "" : "no base part and ") + "entity parts "
            + Integer.toBinaryString(p.seen) + " where its keys call for "
            + Integer.toBinaryString(p.keyed) + ": a part was lost or doubled on the way to the"
            + " join");
      }
      rows.add(new FeatureRow(p.id, time, p.values));
    }
    group.clear();
    open = false;
    return rows;
  }

  private static final class Pending {
    final Object[] values;
    String id;
    int keyed;
    boolean base;
    int seen;

    Pending(int featureCount) {
      values = new Object[featureCount];
    }
  }
}
