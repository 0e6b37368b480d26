package dev.vigil.statetools;

import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.IOException;
import java.io.PrintStream;
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

  /**
   * What add-feature did: entity → carried / added / rebuilt, and per rebuilt entity key counts.
   *
   * @param stamp the new savepoint's stamp; null for a job's savepoint (which has none)
   */
  public record Summary(Map<String, String> entities, long historyEvents, double seconds,
      SavepointStamp stamp) {}

  /**
   * What a running job's savepoint (stop-with-savepoint, no stamp) does not say about itself.
   *
   * @param oldSpec the spec the job ran
   * @param dedupeHorizonMillis the job's {@code dedupe.horizon}: the first stage's dedupe state
   */
  public record JobSavepoint(CompiledSpec oldSpec, long dedupeHorizonMillis) {}

  public static Summary run(Path oldDir, CompiledSpec newSpec, Path input, Path outDir,
      int parallelism, boolean force, PrintStream progressOut) throws StateToolException {
    return run(oldDir, newSpec, input, outDir, parallelism, force, progressOut, null);
  }

  /**
   * As above; a savepoint without a stamp (a job's) needs {@code job}: then see {@link
   * #runOnJobSavepoint}.
   */
  public static Summary run(Path oldDir, CompiledSpec newSpec, Path input, Path outDir,
      int parallelism, boolean force, PrintStream progressOut, JobSavepoint job)
      throws StateToolException {
    long started = System.nanoTime();
    Savepoints.checkTarget(outDir, force);
    Savepoints.Opened old = Savepoints.open(oldDir);
    if (old.stamp() == null && job != null) {
      return runOnJobSavepoint(old, newSpec, input, outDir, parallelism, progressOut, job,
          started);
    }
    SavepointStamp stamp = old.requireStamp("add-feature needs the spec and cut-over it was"
        + " made for; for a running job's savepoint, pass --old-spec with the spec the job ran");
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
    List<String> inputs = new ArrayList<>(stamp.history() == null ? List.of() : stamp.history());
    inputs.add(input.toAbsolutePath().toString());
    SavepointStamp next = Bootstrap.stamp("add-feature", newSpec, stamp.maxParallelism(),
        stamp.cutoverMillis(), stamp.events(), stamp.dedupeHorizonMillis(),
        List.copyOf(new LinkedHashSet<>(inputs)));
    write(oldDir, outDir, parallelism, next, (env, writer, spill) -> {
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
    });
    return new Summary(plan, history.events(), (System.nanoTime() - started) / 1e9, next);
  }

  /** Adds or replaces operators of a savepoint being written over an old one. */
  @FunctionalInterface
  private interface Operators {
    void add(StreamExecutionEnvironment env, SavepointWriter writer, Path spill) throws Exception;
  }

  /** {@code oldDir} with {@code operators} changed, written whole to {@code outDir}. */
  private static void write(Path oldDir, Path outDir, int parallelism, SavepointStamp stamp,
      Operators operators) throws StateToolException {
    Savepoints.writeWhole(outDir, parallelism, "vigil state add-feature", stamp, (env, spill) -> {
      SavepointWriter writer = SavepointWriter.fromExistingSavepoint(env,
          oldDir.toUri().toString(), new EmbeddedRocksDBStateBackend());
      operators.add(env, writer, spill);
      return writer;
    });
  }

  /**
   * add-feature on a running job's savepoint (stop-with-savepoint): no cut-over, each key is where
   * the job left it. Per entity that gained features, every key's state is read with its waiting
   * events (an event-time stage's reads and updates not yet released by the watermark); the new
   * features are computed from the history events of that key up to the state's newest event,
   * without the waiting ones (the stage applies those after the restore, with the new features);
   * the waiting events are carried over, their values moved to the new spec's positions. So a
   * superset of what the job consumed may be given as history (e.g. all of the input topic): an
   * event after a key's newest applied one does not count. What it cannot tell apart: an event the
   * job had not consumed yet that is older than its key's newest applied event (one that will
   * arrive late); the history should end at the savepoint's offsets if late events are expected.
   *
   * <p>Refused: an added entity (which events had passed its stage is not in the savepoint), and
   * features added to an entity with an event-time stage after it (the events waiting there
   * passed this stage with the old features; their new values were never computed).
   */
  private static Summary runOnJobSavepoint(Savepoints.Opened old, CompiledSpec newSpec,
      Path input, Path outDir, int parallelism, PrintStream progressOut, JobSavepoint job,
      long started) throws StateToolException {
    Path oldDir = old.dir();
    CompiledSpec oldSpec = job.oldSpec();
    Savepoints.requireStages(old, oldSpec.engines());
    List<String> entities = newSpec.spec().activeEntities();
    if (!entities.equals(oldSpec.spec().activeEntities())) {
      throw new StateToolException("--spec has the entities " + entities + ", the job ran "
          + oldSpec.spec().activeEntities() + ": on a job's savepoint add-feature only adds"
          + " features to existing entities (bootstrap a new savepoint for new entities)");
    }
    Map<String, String> plan = new LinkedHashMap<>();
    List<EntityEngine> toCompute = new ArrayList<>();
    Map<String, EntityEngine> before = new LinkedHashMap<>();
    for (int i = 0; i < entities.size(); i++) {
      String entity = entities.get(i);
      EntityEngine was = SavepointSpec.engine(oldSpec, entity, oldDir);
      EntityEngine now = SavepointSpec.engine(newSpec, entity, oldDir);
      before.put(entity, was);
      if (!oldSpec.spec().timingOf(entity).equals(newSpec.spec().timingOf(entity))) {
        throw new StateToolException("--spec changes the order or lag of entity '" + entity
            + "' (" + oldSpec.spec().timingOf(entity) + " -> " + newSpec.spec().timingOf(entity)
            + "): bootstrap a new savepoint");
      }
      if (was.features().equals(now.features())) {
        plan.put(entity, "carried");
        continue;
      }
      try {
        now.carryOver(was, null, null);
      } catch (IllegalArgumentException x) {
        throw new StateToolException("--spec: " + x.getMessage() + "; add-feature only adds"
            + " features: bootstrap a new savepoint instead");
      }
      for (int j = i + 1; j < entities.size(); j++) {
        if (newSpec.spec().timingOf(entities.get(j)).ordering()
            == dev.vigil.transforms.spec.EntityTiming.Ordering.EVENT_TIME) {
          throw new StateToolException("--spec adds features to entity '" + entity + "', but the"
              + " event-time stage of '" + entities.get(j) + "' comes after it: the events"
              + " waiting there for the watermark passed '" + entity + "' with the old features,"
              + " so their new values were never computed; add the features to '"
              + entities.get(entities.size() - 1) + "', or bootstrap a new savepoint");
        }
      }
      plan.put(entity, "rebuilt");
      toCompute.add(now);
    }
    if (toCompute.isEmpty()) {
      throw new StateToolException("--spec adds no feature to " + oldDir + " (same features)");
    }
    // The scoring job's stages carry envelopes (the source record, its bytes, its timestamp).
    dev.vigil.transforms.flink.FeatureEventTypeInfo oldType =
        dev.vigil.transforms.flink.FeaturePipeline.typeOf(
            dev.vigil.transforms.flink.JobEnvelope.compile(oldSpec));
    dev.vigil.transforms.flink.FeatureEventTypeInfo newType =
        dev.vigil.transforms.flink.FeaturePipeline.typeOf(
            dev.vigil.transforms.flink.JobEnvelope.compile(newSpec));
    List<String> oldNames = oldSpec.spec().featureNames();
    int[] newToOld = newSpec.spec().featureNames().stream().mapToInt(oldNames::indexOf).toArray();
    FeatureStateFunctions.Waiting moving =
        new FeatureStateFunctions.Waiting(oldType, newType, newToOld);

    // Each rebuilt key's state and waiting events, and where history stops for it.
    Map<String, Map<String, KeyedValue>> olds = new LinkedHashMap<>();
    Map<String, Map<String, Cut>> cuts = new HashMap<>();
    boolean hasId = newSpec.schema().getField(
        dev.vigil.transforms.flink.FeaturePipeline.ID_FIELD) != null;
    org.apache.flink.api.common.typeutils.TypeSerializer<dev.vigil.transforms.flink.FeatureEvent>
        serializer = oldType.createSerializer(
            new org.apache.flink.api.common.serialization.SerializerConfigImpl());
    org.apache.avro.Schema schema = newSpec.schema();
    long waitingEvents = 0;
    for (EntityEngine now : toCompute) {
      String entity = now.entity();
      boolean ordered = oldSpec.spec().timingOf(entity).ordering()
          == dev.vigil.transforms.spec.EntityTiming.Ordering.EVENT_TIME;
      long horizon = entity.equals(entities.get(0)) ? job.dedupeHorizonMillis() : 0;
      Map<String, KeyedValue> values = Savepoints.read(oldDir, before.get(entity), horizon, null,
          parallelism, ordered ? oldType : null);
      olds.put(entity, values);
      Map<String, Cut> perKey = new HashMap<>();
      try {
        for (KeyedValue v : values.values()) {
          java.util.Set<String> unapplied = new java.util.HashSet<>();
          for (byte[][] list : new byte[][][] {v.waitingReads, v.waitingUpdates}) {
            for (int i = 0; list != null && i < list.length; i++) {
              var e = serializer.deserialize(
                  new org.apache.flink.core.memory.DataInputDeserializer(list[i]));
              unapplied.add(identity(e.event, hasId));
              waitingEvents++;
            }
          }
          for (int i = 0; v.handedOver != null && i < v.handedOver.length; i++) {
            unapplied.add(identity(new dev.vigil.transforms.flink.HandedOverEvents()
                .decode(v.handedOver[i], schema), hasId));
            waitingEvents++;
          }
          long newest = v.state == null ? Long.MIN_VALUE
              : before.get(entity).newestMillis(v.state);
          perKey.put(v.key, new Cut(newest, unapplied));
        }
      } catch (IOException e) {
        throw new StateToolException(oldDir + ": cannot read the waiting events of entity '"
            + entity + "': " + e.getMessage() + "; was the job run with --old-spec?", e);
      }
      cuts.put(entity, perKey);
    }
    progressOut.printf("add-feature: a job's savepoint: %,d waiting events carried over; history"
        + " cut per key at its newest applied event%n", waitingEvents);
    HistoryStates.Result history = HistoryStates.compute(newSpec, toCompute, input,
        (entity, key, t, e) -> {
          Cut c = cuts.get(entity).get(key);
          return c != null && t <= c.newest() && !c.unapplied().contains(identity(e, hasId));
        }, progressOut);
    write(oldDir, outDir, parallelism, null, (env, writer, spill) -> {
      for (EntityEngine now : toCompute) {
        String entity = now.entity();
        long horizon = entity.equals(entities.get(0)) ? job.dedupeHorizonMillis() : 0;
        HistoryStates.EntityStates states = rebuild(oldDir, before.get(entity), now,
            history.of(entity), olds.get(entity), progressOut);
        OperatorIdentifier uid = OperatorIdentifier.forUid(OperatorUids.features(entity));
        writer.removeOperator(uid);
        writer.withOperator(uid, Bootstrap.transformation(env, states, horizon, spill,
            parallelism, olds.get(entity), moving));
      }
    });
    return new Summary(plan, history.events(), (System.nanoTime() - started) / 1e9, null);
  }

  /** Where history stops for one key of a job's savepoint. */
  private record Cut(long newest, java.util.Set<String> unapplied) {}

  /**
   * An event's identity: its id field (by name: a waiting event is an envelope, a history event
   * a source record), or without one the source fields of the record.
   */
  private static String identity(org.apache.avro.generic.IndexedRecord e, boolean hasId) {
    if (hasId) {
      return String.valueOf(e.get(e.getSchema().getField(
          dev.vigil.transforms.flink.FeaturePipeline.ID_FIELD).pos()));
    }
    StringBuilder b = new StringBuilder();
    for (org.apache.avro.Schema.Field f : e.getSchema().getFields()) {
      if (!f.name().equals(dev.vigil.transforms.flink.JobEnvelope.ORIGINAL)
          && !f.name().equals(dev.vigil.transforms.flink.JobEnvelope.KAFKA_TIMESTAMP)) {
        b.append(e.get(f.pos())).append('\u0000');
      }
    }
    return b.toString();
  }

  /** Every key of the old savepoint and of history, under the new engine. */
  private static HistoryStates.EntityStates rebuild(Path oldDir, EntityEngine before,
      EntityEngine after, HistoryStates.EntityStates fresh, long horizon, int parallelism,
      PrintStream progressOut) throws StateToolException {
    return rebuild(oldDir, before, after, fresh,
        Savepoints.read(oldDir, before, horizon, null, parallelism), progressOut);
  }

  private static HistoryStates.EntityStates rebuild(Path oldDir, EntityEngine before,
      EntityEngine after, HistoryStates.EntityStates fresh, Map<String, KeyedValue> old,
      PrintStream progressOut) throws StateToolException {
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
