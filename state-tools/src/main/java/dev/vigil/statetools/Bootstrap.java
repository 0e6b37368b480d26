package dev.vigil.statetools;

import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.Durations;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.state.api.OperatorIdentifier;
import org.apache.flink.state.api.OperatorTransformation;
import org.apache.flink.state.api.SavepointWriter;
import org.apache.flink.state.api.StateBootstrapTransformation;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * {@code state bootstrap}: the feature stages' state as of a cut-over, from history, as a savepoint
 * the scoring job (and {@code vigil run --from-savepoint}) restores.
 *
 * <p>Steps: (1) {@link HistoryStates}: the offline engines over the events before the cut-over,
 * in event-time order — one pass over the file, every key's state in memory (about the engine's
 * state bytes per key, {@code vigil features explain}); (2) each entity's states spilled to local
 * files, one per writer subtask; (3) a batch job of the State Processor API: {@code FileSource →
 * keyBy(entity key) → FeatureStateFunctions.Writer} per entity, under {@link
 * OperatorUids#features}, into a RocksDB savepoint with the given max parallelism; (4) the stamp
 * ({@link SavepointStamp}) beside {@code _metadata}; (5) the directory moved into place whole.
 *
 * <p>Why offline first and not the engine inside the Flink job: a keyed Flink operator would pay a
 * state read and write per event (what replaying through the streaming job costs); the in-memory
 * map pays a hash lookup, and Flink writes each key once.
 */
public final class Bootstrap {
  private Bootstrap() {}

  /** What a bootstrap did. */
  public record Summary(HistoryStates.Result history, Map<String, Integer> keys, double seconds,
      SavepointStamp stamp) {}

  public static Summary run(CompiledSpec spec, Path input, long cutoverMillis, Path savepoint,
      int maxParallelism, int parallelism, long dedupeHorizonMillis, boolean force,
      PrintStream progressOut) throws StateToolException {
    long started = System.nanoTime();
    Savepoints.checkTarget(savepoint, force);
    HistoryStates.Result history = HistoryStates.compute(spec, spec.engines(), input,
        cutoverMillis, dedupeHorizonMillis, progressOut);
    progressOut.printf(Locale.ROOT, "bootstrap: %,d events before %s in %.1f s (%,d after it"
            + " skipped, %,d late, %,d keys past their TTL dropped)%n", history.events(),
        Instant.ofEpochMilli(cutoverMillis), history.seconds(), history.afterCutover(),
        history.late(), history.expiredKeys());
    SavepointStamp stamp = stamp("bootstrap", spec, maxParallelism, cutoverMillis,
        history.events(), dedupeHorizonMillis, List.of(input.toAbsolutePath().toString()));
    Map<String, Integer> keys = new LinkedHashMap<>();
    Savepoints.writeWhole(savepoint, parallelism, "vigil state bootstrap", stamp, (env, spill) -> {
      SavepointWriter writer =
          SavepointWriter.newSavepoint(env, new EmbeddedRocksDBStateBackend(), maxParallelism);
      String first = spec.spec().activeEntities().get(0);
      for (HistoryStates.EntityStates e : history.entities()) {
        // Dedupe ids only for the first stage: the job drops a retry there, once.
        long horizon = e.engine().entity().equals(first) ? dedupeHorizonMillis : 0;
        writer.withOperator(OperatorIdentifier.forUid(OperatorUids.features(e.engine().entity())),
            transformation(env, e, horizon, spill, parallelism));
        keys.put(e.engine().entity(), e.states().size());
        if (e.withinLag() > 0) {
          progressOut.printf(Locale.ROOT, "bootstrap: entity %s reads as of %s: its %,d events of"
                  + " the last %s before the cut-over are handed to the stage to apply behind the"
                  + " watermark, as in a stream%n", e.engine().entity(),
              Durations.format(spec.spec().timingOf(e.engine().entity()).asOfMillis()),
              e.withinLag(), Durations.format(spec.spec().timingOf(e.engine().entity()).asOfMillis()));
        }
      }
      return writer;
    });
    return new Summary(history, keys, (System.nanoTime() - started) / 1e9, stamp);
  }

  /** One entity's states as a bootstrap transformation for its stage. */
  static StateBootstrapTransformation<KeyedValue> transformation(StreamExecutionEnvironment env,
      HistoryStates.EntityStates e, long dedupeHorizonMillis, Path spill, int parallelism)
      throws IOException {
    return transformation(env, e, dedupeHorizonMillis, spill, parallelism, Map.of(), null);
  }

  /**
   * As above, carrying a job's waiting (and handed-over) events per key from {@code waiting},
   * moved to the new spec's event type by {@code moving}.
   */
  static StateBootstrapTransformation<KeyedValue> transformation(StreamExecutionEnvironment env,
      HistoryStates.EntityStates e, long dedupeHorizonMillis, Path spill, int parallelism,
      Map<String, KeyedValue> waiting, FeatureStateFunctions.Waiting moving) throws IOException {
    String entity = e.engine().entity();
    Path dir = Files.createDirectories(spill.resolve(entity));
    KeyedValueFiles.write(dir, entity, e.states(), e.ids(), e.handedOver(), waiting, parallelism);
    FileSource<KeyedValue> files = FileSource.forRecordStreamFormat(new KeyedValueFiles.Format(),
        new org.apache.flink.core.fs.Path(dir.toUri())).build();
    DataStream<KeyedValue> states =
        env.fromSource(files, WatermarkStrategy.noWatermarks(), "states: " + entity);
    return OperatorTransformation.bootstrapWith(states)
        .keyBy(new FeatureStateFunctions.ByKey(), org.apache.flink.api.common.typeinfo.Types.STRING)
        .transform(new FeatureStateFunctions.Writer(e.engine(), dedupeHorizonMillis, moving));
  }

  static SavepointStamp stamp(String tool, CompiledSpec spec, int maxParallelism,
      long cutoverMillis, long events, long dedupeHorizonMillis, List<String> history) {
    Map<String, String> entities = new LinkedHashMap<>();
    spec.engines().forEach(en -> entities.put(en.entity(), OperatorUids.features(en.entity())));
    return new SavepointStamp(SavepointStamp.VERSION, tool, spec.spec().fingerprint(),
        specText(spec), entities, maxParallelism, cutoverMillis,
        Instant.ofEpochMilli(cutoverMillis).toString(), events, dedupeHorizonMillis,
        Instant.now().toString(), history);
  }

  /**
   * The spec's features as YAML the spec parser reads back (entities and features only, the
   * source as declared): what {@code add-feature} needs to read the old state without the old
   * file.
   */
  static String specText(CompiledSpec spec) {
    var s = spec.spec();
    StringBuilder b = new StringBuilder();
    b.append("source: {subject: ").append(s.sourceSubject()).append(", event_time: ")
        .append(s.eventTimeField()).append("}\n");
    b.append("entities:\n");
    s.entities().forEach((k, v) -> {
      var t = s.timingOf(k);
      b.append("  ").append(k).append(": {key: ").append(v).append(", ordering: ")
          .append(t.ordering().spelling()).append(", as_of: ")
          .append(t.asOfMillis() == 0 ? "0" : t.asOfMillis() + "ms").append("}\n");
    });
    b.append("features:\n");
    for (var f : s.features()) {
      b.append("  - {name: ").append(f.name()).append(", entity: ").append(f.entity())
          .append(", aggregation: ").append(f.aggregation().name().toLowerCase(Locale.ROOT));
      if (f.field() != null) {
        b.append(", field: ").append(f.field());
      }
      if (!f.lifetime()) {
        b.append(", window: ").append(f.windowMillis()).append("ms, resolution: ")
            .append(f.resolutionMillis()).append("ms");
      }
      b.append("}\n");
    }
    return b.toString();
  }
}
