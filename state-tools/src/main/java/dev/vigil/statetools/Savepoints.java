package dev.vigil.statetools;

import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.runtime.checkpoint.OperatorState;
import org.apache.flink.runtime.checkpoint.OperatorSubtaskState;
import org.apache.flink.runtime.checkpoint.metadata.CheckpointMetadata;
import org.apache.flink.runtime.jobgraph.OperatorID;
import org.apache.flink.runtime.state.KeyGroupsStateHandle;
import org.apache.flink.runtime.state.KeyedStateHandle;
import org.apache.flink.runtime.state.StreamStateHandle;
import org.apache.flink.runtime.state.filesystem.FileStateHandle;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.SavepointReader;
import org.apache.flink.state.api.SavepointWriter;
import org.apache.flink.state.api.runtime.SavepointLoader;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;

/**
 * Opening, checking, reading and atomically placing savepoint directories. Every check fails with
 * a {@link StateToolException} whose message names the directory, what is wrong and what to do.
 */
public final class Savepoints {
  private Savepoints() {}

  /** Flink's savepoint metadata file. */
  public static final String METADATA = "_metadata";

  /** A complete savepoint directory: its metadata and its stamp (null when unstamped). */
  public record Opened(Path dir, CheckpointMetadata metadata, SavepointStamp stamp) {
    /** The key groups the savepoint was written with (from its operators' state). */
    public int maxParallelism() {
      return metadata.getOperatorStates().stream().mapToInt(OperatorState::getMaxParallelism)
          .max().orElse(stamp == null ? -1 : stamp.maxParallelism());
    }

    public boolean hasOperator(String uid) {
      OperatorID id = OperatorIdentifier.forUid(uid).getOperatorId();
      return metadata.getOperatorStates().stream().anyMatch(s -> s.getOperatorID().equals(id));
    }

    /** The stamp; refuses an unstamped savepoint for commands that need what it records. */
    public SavepointStamp requireStamp(String what) throws StateToolException {
      if (stamp == null) {
        throw new StateToolException(dir + " has no " + SavepointStamp.FILE + " (not written by"
            + " `vigil state bootstrap`): " + what);
      }
      return stamp;
    }
  }

  /** Checks that {@code dir} is a whole, readable savepoint. */
  public static Opened open(Path dir) throws StateToolException {
    if (!Files.exists(dir)) {
      throw new StateToolException(dir + ": no such savepoint directory");
    }
    if (!Files.isDirectory(dir)) {
      throw new StateToolException(dir + ": not a directory; give the savepoint's directory (the"
          + " one holding " + METADATA + ")");
    }
    if (!Files.isRegularFile(dir.resolve(METADATA))) {
      throw new StateToolException(dir + " has no " + METADATA + ": not a savepoint, or a partial"
          + " one (a bootstrap that did not finish leaves " + dir.getFileName()
          + ".partial-*, never a half-written directory); write it again with `vigil state"
          + " bootstrap … --force`");
    }
    CheckpointMetadata metadata;
    try {
      metadata = SavepointLoader.loadSavepointMetadata(dir.toUri().toString());
    } catch (IOException | RuntimeException e) {
      throw new StateToolException(dir.resolve(METADATA) + " is unreadable (" + e.getMessage()
          + "): the savepoint is damaged; write it again with `vigil state bootstrap … --force`");
    }
    List<String> missing = missingFiles(metadata);
    if (!missing.isEmpty()) {
      throw new StateToolException(dir + " is partial: " + missing.size() + " state file(s) its "
          + METADATA + " refers to are missing (e.g. " + missing.get(0) + "); copy the whole"
          + " directory again, or write it again with `vigil state bootstrap … --force`");
    }
    return new Opened(dir, metadata, SavepointStamp.read(dir));
  }

  private static List<String> missingFiles(CheckpointMetadata metadata) {
    List<String> missing = new ArrayList<>();
    for (OperatorState op : metadata.getOperatorStates()) {
      for (OperatorSubtaskState sub : op.getStates()) {
        for (KeyedStateHandle h : sub.getManagedKeyedState()) {
          StreamStateHandle delegate = h instanceof KeyGroupsStateHandle k
              ? k.getDelegateStateHandle() : null;
          if (delegate instanceof FileStateHandle f
              && !Files.exists(Path.of(f.getFilePath().toUri()))) {
            missing.add(f.getFilePath().toString());
          }
        }
      }
    }
    return missing;
  }

  /**
   * Refuses a savepoint that does not fit {@code spec} at {@code maxParallelism}: another spec
   * (by the stamp's fingerprint), other key groups, or a stage's uid missing.
   */
  public static void checkFits(Opened sp, CompiledSpec spec, int maxParallelism)
      throws StateToolException {
    int mp = sp.maxParallelism();
    if (mp > 0 && mp != maxParallelism) {
      throw new StateToolException(sp.dir() + " was written with max parallelism " + mp + ", not "
          + maxParallelism + ": key groups are fixed for the life of a savepoint; pass"
          + " --max-parallelism " + mp + ", or bootstrap again with --max-parallelism "
          + maxParallelism);
    }
    if (sp.stamp() != null && !sp.stamp().specFingerprint().equals(spec.spec().fingerprint())) {
      throw new StateToolException(sp.dir() + " was made for another feature spec (fingerprint "
          + sp.stamp().specFingerprint() + ", entities " + sp.stamp().entities().keySet()
          + "), this spec is " + spec.spec().fingerprint() + ": bootstrap it again for this"
          + " spec, or add the new features with `vigil state add-feature`");
    }
    requireStages(sp, spec.engines());
  }

  /** Refuses a savepoint without state for one of {@code engines}' stage uids. */
  public static void requireStages(Opened sp, List<EntityEngine> engines)
      throws StateToolException {
    for (EntityEngine engine : engines) {
      String uid = OperatorUids.features(engine.entity());
      if (!sp.hasOperator(uid)) {
        throw new StateToolException(sp.dir() + " has no state for operator uid " + uid
            + " (entity '" + engine.entity() + "'): a job restored from it would start that"
            + " entity cold; bootstrap it with this spec, or add the entity's features with"
            + " `vigil state add-feature`");
      }
    }
  }

  /**
   * Local settings of the State Processor API jobs. Generic types stay enabled: the API's
   * own {@code TaggedOperatorSubtaskState} travels through Kryo; Vigil's records ({@link
   * KeyedValue}) have an explicit POJO type.
   */
  static StreamExecutionEnvironment environment(int parallelism) {
    Configuration c = new Configuration();
    c.setString("parallelism.default", Integer.toString(parallelism));
    c.setString("taskmanager.numberOfTaskSlots", Integer.toString(parallelism));
    c.setString("rest.bind-address", "127.0.0.1");
    c.setString("rest.address", "127.0.0.1");
    // Streaming mode: in batch mode the keyBy sorts the records in managed memory in front of
    // the writer, which shares the slot's managed memory with RocksDB; with ~100 MB of states
    // the writer's task thread died silently and the job hung (Flink 2.2, 10M-event bench). The
    // states arrive once per key, so there is nothing to gain from sorting them.
    c.setString("execution.runtime-mode", "STREAMING");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(c);
    env.setRuntimeMode(RuntimeExecutionMode.STREAMING);
    env.setParallelism(parallelism);
    return env;
  }

  /** Every key's state of {@code engine}'s stage (or only {@code onlyKey}), in key order. */
  public static Map<String, KeyedValue> read(Path dir, EntityEngine engine, long dedupeHorizonMillis,
      String onlyKey, int parallelism) throws StateToolException {
    return read(dir, engine, dedupeHorizonMillis, onlyKey, parallelism, null);
  }

  /**
   * As above, with an event-time stage's waiting events and handed-over events when {@code
   * waitingType} (the job's event type) is given.
   */
  static Map<String, KeyedValue> read(Path dir, EntityEngine engine, long dedupeHorizonMillis,
      String onlyKey, int parallelism,
      dev.vigil.transforms.flink.FeatureEventTypeInfo waitingType) throws StateToolException {
    StreamExecutionEnvironment env = environment(parallelism);
    Map<String, KeyedValue> out = new java.util.TreeMap<>();
    try {
      SavepointReader reader =
          SavepointReader.read(env, dir.toUri().toString(), new EmbeddedRocksDBStateBackend());
      var stream = reader.readKeyedState(
          OperatorIdentifier.forUid(OperatorUids.features(engine.entity())),
          new FeatureStateFunctions.Reader(engine, dedupeHorizonMillis, onlyKey, waitingType),
          Types.STRING, KeyedValue.TYPE);
      try (CloseableIterator<KeyedValue> it = stream.executeAndCollect("vigil state read "
          + engine.entity())) {
        while (it.hasNext()) {
          KeyedValue v = it.next();
          out.put(v.key, v);
        }
      }
    } catch (Exception e) {
      throw new StateToolException(dir + ": cannot read the state of entity '" + engine.entity()
          + "': " + rootMessage(e) + "; if the savepoint was made for another spec, bootstrap"
          + " again", e);
    }
    return out;
  }

  /** The feature values of {@link #read}, keyed. */
  static Map<String, byte[]> states(Map<String, KeyedValue> values) {
    Map<String, byte[]> m = new LinkedHashMap<>();
    values.forEach((k, v) -> {
      if (v.state != null) {
        m.put(k, v.state);
      }
    });
    return m;
  }

  /** What goes into a savepoint being written: its writer, with every operator added. */
  @FunctionalInterface
  interface Contents {
    SavepointWriter writer(StreamExecutionEnvironment env, Path spill) throws Exception;
  }

  /**
   * Runs the State Processor API job {@code job} that writes {@code contents} as {@code
   * target.partial-*} (with {@code stamp} beside {@code _metadata}, unless null) and moves it into
   * place whole; nothing is left behind on failure. {@code spill}: a temporary directory for the
   * states on their way in, deleted at the end.
   */
  static void writeWhole(Path target, int parallelism, String job, SavepointStamp stamp,
      Contents contents) throws StateToolException {
    Path partial = null;
    Path spill = null;
    try {
      partial = partialDir(target);
      spill = Files.createTempDirectory("vigil-savepoint-states");
      StreamExecutionEnvironment env = environment(parallelism);
      contents.writer(env, spill).write(partial.toUri().toString());
      env.execute(job);
      if (stamp != null) {
        stamp.write(partial);
      }
      place(partial, target);
      partial = null;
    } catch (StateToolException e) {
      throw e;
    } catch (IOException e) {
      throw new StateToolException("cannot write " + target + ": " + e.getMessage(), e);
    } catch (Exception e) {
      throw new StateToolException("the savepoint job failed: " + rootMessage(e), e);
    } finally {
      deleteTree(partial);
      deleteTree(spill);
    }
  }

  /** Refuses to write over {@code target} unless {@code force}. */
  static void checkTarget(Path target, boolean force) throws StateToolException {
    if (Files.exists(target) && !force) {
      throw new StateToolException(target + " exists; pass --force to replace it (the old"
          + " savepoint is removed only once the new one is complete)");
    }
  }

  /** A fresh sibling directory to write into before {@link #place}. */
  static Path partialDir(Path target) throws IOException {
    Path abs = target.toAbsolutePath();
    Files.createDirectories(abs.getParent());
    return abs.resolveSibling(abs.getFileName() + ".partial-" + ProcessHandle.current().pid()
        + "-" + System.nanoTime());
  }

  /** Moves a complete savepoint into place; the previous one (with --force) goes only then. */
  static void place(Path partial, Path target) throws IOException {
    Path abs = target.toAbsolutePath();
    Path old = null;
    if (Files.exists(abs)) {
      old = abs.resolveSibling(abs.getFileName() + ".old-" + System.nanoTime());
      Files.move(abs, old, StandardCopyOption.ATOMIC_MOVE);
    }
    Files.move(partial, abs, StandardCopyOption.ATOMIC_MOVE);
    if (old != null) {
      deleteTree(old);
    }
  }

  static void deleteTree(Path dir) {
    if (dir == null || !Files.exists(dir)) {
      return;
    }
    try (var paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a leftover temporary directory is harmless
    }
  }

  static String rootMessage(Throwable e) {
    Throwable t = e;
    Set<Throwable> seen = new HashSet<>();
    while (t.getCause() != null && seen.add(t)) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }
}
