package dev.vigil.statetools;

import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.SavepointWriter;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * {@code state add-feature}: a savepoint for a spec that gained features, without replaying the
 * old ones. Per entity of the new spec:
 *
 * <ul>
 *   <li>unchanged: its operator state is carried over as it is (the State Processor API copies
 *       its files);
 *   <li>new entity: its state computed from history, as {@code bootstrap} would, under its uid;
 *   <li>gained features: every key's value rebuilt by {@link EntityEngine#carryOver}: the old
 *       features' bytes as they are in the old savepoint, the new features' from history up to
 *       the same cut-over; the dedupe ids carried over. A key whose history does not reach the
 *       same newest event as the savepoint makes the command refuse: the history is not the one
 *       the savepoint was built from.
 * </ul>
 *
 * A feature removed or changed, or an entity removed, is refused: that is a new bootstrap.
 */
public final class AddFeature {
  private AddFeature() {}

  /** What add-feature did: entity → carried / added / rebuilt, and per rebuilt entity key counts. */
  public record Summary(Map<String, String> entities, long historyEvents, double seconds,
      SavepointStamp stamp) {}

  public static Summary run(Path oldDir, CompiledSpec newSpec, Path input, Path outDir,
      int parallelism, boolean force, PrintStream progressOut) throws StateToolException {
    long started = System.nanoTime();
    Savepoints.checkTarget(outDir, force);
    Savepoints.Opened old = Savepoints.open(oldDir);
    SavepointStamp stamp = old.requireStamp("add-feature needs the spec and cut-over it was"
        + " made for");
    CompiledSpec oldSpec = SavepointSpec.of(old, newSpec.schema());
    Savepoints.requireStages(old, oldSpec.engines());
    Map<String, EntityEngine> oldEngines = new LinkedHashMap<>();
    oldSpec.engines().forEach(e -> oldEngines.put(e.entity(), e));
    Map<String, String> plan = new LinkedHashMap<>();
    List<EntityEngine> toCompute = new ArrayList<>();
    for (EntityEngine e : newSpec.engines()) {
      EntityEngine before = oldEngines.get(e.entity());
      if (before == null) {
        plan.put(e.entity(), "added");
        toCompute.add(e);
      } else if (before.features().equals(e.features())) {
        plan.put(e.entity(), "carried");
      } else {
        try {
          e.carryOver(before, null, null); // checks the old features are all there, unchanged
        } catch (IllegalArgumentException x) {
          throw new StateToolException("--spec: " + x.getMessage() + "; add-feature only adds"
              + " features: bootstrap a new savepoint instead");
        }
        plan.put(e.entity(), "rebuilt");
        toCompute.add(e);
      }
    }
    for (String entity : oldEngines.keySet()) {
      if (!plan.containsKey(entity)) {
        throw new StateToolException("--spec has no features of entity '" + entity + "', which "
            + oldDir + " holds; add-feature only adds features: bootstrap a new savepoint");
      }
    }
    if (toCompute.isEmpty()) {
      throw new StateToolException("--spec adds no feature to " + oldDir + " (same features)");
    }
    HistoryStates.Result history = HistoryStates.compute(newSpec, toCompute, input,
        stamp.cutoverMillis(), stamp.dedupeHorizonMillis(), progressOut);
    Path partial = null;
    Path spill = null;
    try {
      partial = Savepoints.partialDir(outDir);
      spill = Files.createTempDirectory("vigil-add-feature");
      StreamExecutionEnvironment env = Savepoints.environment(parallelism);
      SavepointWriter writer = SavepointWriter.fromExistingSavepoint(env,
          oldDir.toUri().toString(), new EmbeddedRocksDBStateBackend());
      for (EntityEngine e : toCompute) {
        HistoryStates.EntityStates fresh = history.of(e.entity());
        OperatorIdentifier uid = OperatorIdentifier.forUid(OperatorUids.features(e.entity()));
        HistoryStates.EntityStates states = fresh;
        if (plan.get(e.entity()).equals("rebuilt")) {
          states = rebuild(oldDir, oldEngines.get(e.entity()), e, fresh,
              stamp.dedupeHorizonMillis(), parallelism, progressOut);
          writer.removeOperator(uid);
        }
        writer.withOperator(uid,
            Bootstrap.transformation(env, states, stamp.dedupeHorizonMillis(), spill, parallelism));
      }
      writer.write(partial.toUri().toString());
      env.execute("vigil state add-feature");
      List<String> inputs = new ArrayList<>(stamp.history() == null ? List.of() : stamp.history());
      inputs.add(input.toAbsolutePath().toString());
      SavepointStamp next = Bootstrap.stamp("add-feature", newSpec, stamp.maxParallelism(),
          stamp.cutoverMillis(), stamp.events(), stamp.dedupeHorizonMillis(),
          List.copyOf(new LinkedHashSet<>(inputs)));
      next.write(partial);
      Savepoints.place(partial, outDir);
      partial = null;
      return new Summary(plan, history.events(), (System.nanoTime() - started) / 1e9, next);
    } catch (StateToolException e) {
      throw e;
    } catch (IOException e) {
      throw new StateToolException("cannot write " + outDir + ": " + e.getMessage(), e);
    } catch (Exception e) {
      throw new StateToolException("the savepoint job failed: " + Savepoints.rootMessage(e), e);
    } finally {
      Savepoints.deleteTree(partial);
      Savepoints.deleteTree(spill);
    }
  }

  /** Every key of the old savepoint and of history, under the new engine. */
  private static HistoryStates.EntityStates rebuild(Path oldDir, EntityEngine before,
      EntityEngine after, HistoryStates.EntityStates fresh, long horizon, int parallelism,
      PrintStream progressOut) throws StateToolException {
    Map<String, KeyedValue> old = Savepoints.read(oldDir, before, horizon, null, parallelism);
    Map<String, byte[]> states = new LinkedHashMap<>();
    Map<String, Map<String, Long>> ids = new HashMap<>();
    List<String> mismatched = new ArrayList<>();
    long onlyOld = 0;
    long onlyHistory = 0;
    for (KeyedValue v : old.values()) {
      byte[] f = fresh.states().get(v.key);
      if (f == null) {
        onlyOld++;
      }
      try {
        byte[] s = after.carryOver(before, v.state, f);
        if (s != null) {
          states.put(v.key, s);
        }
      } catch (IllegalArgumentException e) {
        if (mismatched.size() < 5) {
          mismatched.add(v.key + ": " + e.getMessage());
        } else {
          mismatched.add(v.key);
        }
      }
      if (v.ids != null && v.ids.length > 0) {
        Map<String, Long> m = new HashMap<>();
        for (int i = 0; i < v.ids.length; i++) {
          m.put(v.ids[i], v.times[i]);
        }
        ids.put(v.key, m);
      }
    }
    for (Map.Entry<String, byte[]> e : fresh.states().entrySet()) {
      if (!old.containsKey(e.getKey())) {
        onlyHistory++;
        states.put(e.getKey(), e.getValue()); // no old state to carry: all from history
        Map<String, Long> m = fresh.ids().get(e.getKey());
        if (m != null) {
          ids.put(e.getKey(), m);
        }
      }
    }
    if (!mismatched.isEmpty()) {
      throw new StateToolException(mismatched.size() + " " + after.entity() + " keys of " + oldDir
          + " are not where the history leaves them at the cut-over, e.g. "
          + String.join("; ", mismatched.subList(0, Math.min(5, mismatched.size())))
          + ": give the history the savepoint was built from (events before its cut-over)");
    }
    progressOut.printf("add-feature: %s: %,d keys carried over (%,d with no history: new features"
            + " empty), %,d keys only in history taken from it%n", after.entity(), old.size(),
        onlyOld, onlyHistory);
    return new HistoryStates.EntityStates(after, states, ids, 0);
  }
}
