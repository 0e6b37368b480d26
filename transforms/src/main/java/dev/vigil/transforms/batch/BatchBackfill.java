package dev.vigil.transforms.batch;

import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.flink.EntityKeySelector;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.io.EventFiles;
import dev.vigil.transforms.offline.ParquetRowSink;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.api.common.RuntimeExecutionMode;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.operators.Order;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.typeutils.RowTypeInfo;
import org.apache.flink.configuration.BatchExecutionOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.CoreOptions;
import org.apache.flink.configuration.ExecutionOptions;
import org.apache.flink.configuration.HeartbeatManagerOptions;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.PipelineOptions;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.types.Row;

/**
 * {@code features backfill --parallelism N}: the point-in-time backfill as a Flink job in BATCH
 * mode, with the single-JVM {@code Backfill}'s semantics and rows: the same values, ids, times and
 * order (event time, ties in input order).
 *
 * <ol>
 *   <li>Source: FLIP-27 {@code FileSource} over the input files ({@link InputFiles}), JSON lines in
 *       byte-range splits, Avro a split per file; each event carries its global ordinal.
 *   <li>Base parts: per event its id and which entities have a key (stateless).
 *   <li>Per entity: events without its key dropped (their features stay null), {@code keyBy(key)}
 *       (the sort-based batch shuffle), then {@link EntityParts}: one key at a time, its events in
 *       (time, ordinal) order through the engine, {@code as_of} lag included. State: the current
 *       key's events (batch state backend), nothing across keys. No lateness beyond the engine's
 *       own, per key: the same late count as the evaluator.
 *   <li>Join and order: all parts range-partitioned by event time ({@link TimeRanges}, bounds
 *       sampled from the input), sorted by time within each partition (managed memory, spilling),
 *       merged into rows by ordinal ({@link RowAssembler}).
 *   <li>Sink V2: one part file per subtask ({@link PartSink}) in {@code <out>.partial}, renamed to
 *       {@code <out>} after success ({@link OutputDirectory}).
 * </ol>
 */
public final class BatchBackfill {
  /** Accumulator: events read. */
  public static final String READ = "vigil.backfill.read";
  /** Accumulator: late events, summed over entities (as the evaluator counts them). */
  public static final String LATE = "vigil.backfill.late";

  /** Accumulator of the events an entity's stage has done ({@code .keys}: its keys). */
  static String entityCounter(String entity) {
    return "vigil.backfill.entity." + entity;
  }

  /**
   * How to run.
   *
   * @param parallelism subtasks of every operator, and part files of the output
   * @param splitBytes bytes per JSON-lines split; 0: about four splits per subtask, 1–64 MiB
   * @param managedMemory memory of the local TaskManager for sorting (spills beyond it)
   * @param progressInterval how often a progress line is printed
   */
  public record Options(int parallelism, long splitBytes, MemorySize managedMemory,
      Duration progressInterval) {
    public Options {
      if (parallelism < 1 || parallelism > 1024) {
        throw new IllegalArgumentException("--parallelism must be between 1 and 1024, got "
            + parallelism);
      }
      if (splitBytes < 0) {
        throw new IllegalArgumentException("split size must be positive, got " + splitBytes);
      }
    }

    /** {@code parallelism} with the defaults: automatic splits, 256 MiB to sort, lines every 2 s. */
    public static Options of(int parallelism) {
      return new Options(parallelism, 0, MemorySize.ofMebiBytes(256), Duration.ofSeconds(2));
    }

    /** These options with {@code splitBytes} per split. */
    public Options withSplitBytes(long bytes) {
      return new Options(parallelism, bytes, managedMemory, progressInterval);
    }
  }

  /** The job failed for another reason than bad input (an internal error: its cause says). */
  public static final class JobFailedException extends IOException {
    private static final long serialVersionUID = 1L;

    JobFailedException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** What a batch backfill did. */
  public record Summary(long events, long late, double seconds, int parallelism, Path output) {}

  private final CompiledSpec spec;
  private final Options options;
  private final PrintStream progressOut;

  public BatchBackfill(CompiledSpec spec, Options options, PrintStream progressOut) {
    if (spec.engines().size() > FeatureParts.MAX_ENTITIES) {
      throw new IllegalArgumentException("the batch backfill joins at most "
          + FeatureParts.MAX_ENTITIES + " entities, the spec has " + spec.engines().size());
    }
    this.spec = spec;
    this.options = options;
    this.progressOut = progressOut;
  }

  /**
   * Backfills {@code input} (a file or a directory of event files) into the directory {@code
   * output}. Bad input fails with its file and line before or during the job; a failed job leaves
   * no {@code output} (a previous one stays as it was).
   */
  public Summary run(Path input, Path output) throws EventFiles.BadInputException, IOException {
    long started = System.nanoTime();
    InputFiles files = InputFiles.of(input);
    int n = options.parallelism();
    long[] bounds = TimeSample.bounds(files, spec.schema(), spec.engines().get(0), n);
    OutputDirectory out = OutputDirectory.prepare(output);
    JobExecutionResult result;
    try {
      StreamExecutionEnvironment env =
          StreamExecutionEnvironment.getExecutionEnvironment(localConfig(options));
      defineWorkflow(env, spec, files, n, splitBytes(files), bounds, out.partial(),
          PartFiles.forOutput(out.target(), ParquetRowSink.schemaOf(spec),
              spec.spec().featureNames()));
      JobClient job = env.executeAsync("vigil features backfill");
      result = new BackfillProgress(progressOut, options.progressInterval(),
          spec.engines().stream().map(EntityEngine::entity).toList()).await(job);
    } catch (InterruptedException e) {
      out.abort();
      Thread.currentThread().interrupt();
      throw new IOException("interrupted; no output written", e);
    } catch (Exception e) { // the job failed (ExecutionException) or could not start
      out.abort();
      String bad = BadInputError.find(e);
      if (bad != null) {
        throw new EventFiles.BadInputException(bad);
      }
      throw new JobFailedException("the backfill job failed: " + rootMessage(e), e);
    }
    out.commit();
    Long read = result.getAccumulatorResult(READ);
    Long late = result.getAccumulatorResult(LATE);
    return new Summary(read == null ? 0 : read, late == null ? 0 : late,
        (System.nanoTime() - started) / 1e9, n, out.target());
  }

  private long splitBytes(InputFiles files) throws IOException {
    if (options.splitBytes() > 0) {
      return options.splitBytes();
    }
    long perSplit = files.totalBytes() / (4L * options.parallelism());
    return Math.max(1L << 20, Math.min(64L << 20, perSplit));
  }

  /**
   * BATCH runtime mode, every operator at the parallelism, no restarts (a failed run is rerun
   * whole), no Kryo; for a local MiniCluster also its slots, sort memory and heartbeats (which
   * carry the accumulators the progress lines read).
   */
  public static Configuration localConfig(Options options) {
    int n = options.parallelism();
    Configuration c = new Configuration();
    c.set(ExecutionOptions.RUNTIME_MODE, RuntimeExecutionMode.BATCH);
    c.set(CoreOptions.DEFAULT_PARALLELISM, n);
    c.set(PipelineOptions.MAX_PARALLELISM, Math.max(128, n));
    c.set(PipelineOptions.GENERIC_TYPES, false);
    // No operator mutates or keeps a record it passes on (EntityParts keeps the events it is
    // given, which its serializer deserializes as new objects): chained operators share them
    // instead of copying each event into the base-part map and every entity's filter.
    c.set(PipelineOptions.OBJECT_REUSE, true);
    c.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    // Part files are one per subtask: the scheduler must not pick other parallelisms.
    c.set(BatchExecutionOptions.ADAPTIVE_AUTO_PARALLELISM_ENABLED, false);
    c.set(TaskManagerOptions.NUM_TASK_SLOTS, n);
    c.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, options.managedMemory());
    c.set(HeartbeatManagerOptions.HEARTBEAT_INTERVAL, options.progressInterval());
    c.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
    c.set(RestOptions.ADDRESS, "127.0.0.1");
    return c;
  }

  /** Source → base and entity parts → range partition, sort, join → part files in {@code dir}. */
  public static void defineWorkflow(StreamExecutionEnvironment env, CompiledSpec spec,
      InputFiles files, int parallelism, long splitBytes, long[] bounds, Path dir,
      PartFiles partFiles) {
    List<EntityEngine> engines = spec.engines();
    List<String> names = spec.spec().featureNames();
    RowTypeInfo partType = FeatureParts.typeOf(spec);
    int arity = partType.getArity();
    int[][] slots = new int[engines.size()][];
    for (int e = 0; e < engines.size(); e++) {
      slots[e] = engines.get(e).featureNames().stream().mapToInt(names::indexOf).toArray();
    }

    org.apache.flink.core.fs.Path[] paths = files.files().stream()
        .map(p -> new org.apache.flink.core.fs.Path(p.toUri()))
        .toArray(org.apache.flink.core.fs.Path[]::new);
    FileSource<FeatureEvent> source =
        FileSource.forBulkFileFormat(new EventFileFormat(spec.schema()), paths)
            .setFileEnumerator(EventSplits.provider(splitBytes))
            .build();
    DataStream<FeatureEvent> events = env
        .fromSource(source, WatermarkStrategy.noWatermarks(), "events")
        .uid(OperatorUids.BACKFILL_SOURCE)
        .setParallelism(parallelism);

    DataStream<Row> parts = events
        .map(new BaseParts(engines, arity, spec.schema()), partType)
        .uid(OperatorUids.BACKFILL_BASE)
        .name("base parts")
        .setParallelism(parallelism);
    String schemaJson = spec.schema().toString();
    for (int e = 0; e < engines.size(); e++) {
      EntityEngine engine = engines.get(e);
      long lag = spec.spec().timingOf(engine.entity()).asOfMillis();
      DataStream<Row> entityParts = events
          .filter(new HasKey(engine))
          .uid(OperatorUids.backfillKeyed(engine.entity()))
          .name("events with a " + engine.entity() + " key")
          .setParallelism(parallelism)
          .keyBy(new EntityKeySelector(engine), Types.STRING)
          .process(new EntityParts(engine, e, lag, slots[e], arity, schemaJson), partType)
          .uid(OperatorUids.backfillEntity(engine.entity()))
          .name(engine.entity() + " features, key by key")
          .setParallelism(parallelism);
      parts = parts.union(entityParts);
    }

    parts.partitionCustom(new TimeRanges(bounds), new PartTime())
        .fullWindowPartition()
        .sortPartition(new PartTime(), Order.ASCENDING)
        .uid(OperatorUids.BACKFILL_SORT)
        .name("sort by event time")
        .setParallelism(parallelism)
        .sinkTo(new PartSink(dir, partFiles, names.size(), slots))
        .uid(OperatorUids.BACKFILL_SINK)
        .name("part files")
        .setParallelism(parallelism);
  }

  private static String rootMessage(Throwable t) {
    Throwable root = t;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root.getMessage() == null ? root.toString() : root.getMessage();
  }
}
