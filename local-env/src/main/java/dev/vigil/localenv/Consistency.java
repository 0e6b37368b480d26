package dev.vigil.localenv;

import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.EventFiles;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.offline.PointInTimeEvaluator;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.avro.generic.IndexedRecord;

/**
 * Streaming = offline, checked: the offline point-in-time evaluator (the same engines as the
 * job's feature stages) over the history file and then the live valid events in event-time order,
 * compared feature by feature with the FeatureVectors the job wrote for a sample of
 * ids. Exact for longs and strings, 1e-9 relative for doubles (sums of doubles may be re-associated
 * by tile arithmetic).
 */
final class Consistency {
  /** A differing feature, for the report. */
  record Mismatch(String id, String feature, Object streamed, Object offline) {}

  record Result(int checked, int mismatched, List<Mismatch> examples) {}

  private final CompiledSpec spec;
  private final PointInTimeEvaluator offline;
  private long historyEvents;

  Consistency(CompiledSpec spec) {
    this.spec = spec;
    this.offline = new PointInTimeEvaluator(spec);
  }

  /** Feeds the history (the bootstrap's input, in event-time order). */
  Consistency history(Path file) throws EventFiles.BadInputException, IOException {
    try (EventFiles.Reader in = EventFiles.open(file, spec.schema())) {
      IndexedRecord r;
      while ((r = in.next()) != null) {
        offline.process(r);
        historyEvents++;
      }
    }
    return this;
  }

  long historyEvents() {
    return historyEvents;
  }

  /**
   * Feeds every valid live event in send order and compares those in {@code streamed} (id →
   * the job's feature values) with the offline values; {@code sample} ids without a streamed
   * vector count as mismatches.
   */
  Result live(Transaction[] valid, java.util.Set<String> sample,
      Map<String, Map<String, Object>> streamed) {
    List<String> names = spec.spec().featureNames();
    // In event-time order, as the definition reads them (ties: send order): the stages order
    // their keys' events the same way, whatever the partitioning.
    Transaction[] byTime = valid.clone();
    java.util.Arrays.sort(byTime, java.util.Comparator.comparing(Transaction::getEventTime));
    valid = byTime;
    int checked = 0;
    int mismatched = 0;
    List<Mismatch> examples = new ArrayList<>();
    for (Transaction t : valid) {
      FeatureRow row = offline.process(t);
      String id = t.getTransactionId();
      if (!sample.contains(id)) {
        continue;
      }
      checked++;
      Map<String, Object> got = streamed.get(id);
      boolean same = true;
      for (int i = 0; i < names.size(); i++) {
        Object want = row.values()[i];
        Object actual = got == null ? "(no feature vector)" : got.get(names.get(i));
        if (!equal(actual, want)) {
          same = false;
          if (examples.size() < 10) {
            examples.add(new Mismatch(id, names.get(i), actual, want));
          }
        }
      }
      if (!same) {
        mismatched++;
      }
    }
    return new Result(checked, mismatched, examples);
  }

  static boolean equal(Object streamed, Object offline) {
    if (streamed == null || offline == null) {
      return streamed == offline;
    }
    if (streamed instanceof Double || offline instanceof Double) {
      if (!(streamed instanceof Double x) || !(offline instanceof Double y)) {
        return false; // a long on one side and a double on the other is a type mismatch
      }
      return x.equals(y) || Math.abs(x - y) <= 1e-9 * Math.max(Math.abs(x), Math.abs(y));
    }
    if (streamed instanceof Long || offline instanceof Long) {
      return streamed instanceof Long && offline instanceof Long && streamed.equals(offline);
    }
    if (streamed instanceof CharSequence || offline instanceof CharSequence) {
      return Objects.equals(streamed.toString(), offline.toString());
    }
    return streamed.equals(offline);
  }
}
