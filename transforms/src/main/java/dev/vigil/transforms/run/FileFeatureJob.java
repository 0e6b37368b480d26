package dev.vigil.transforms.run;

import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.FeaturePipeline;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.io.EventFiles;
import dev.vigil.transforms.io.EventJson;
import dev.vigil.transforms.io.KeyPartitioner;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.apache.avro.generic.IndexedRecord;
import org.apache.flink.api.common.eventtime.Watermark;
import org.apache.flink.api.common.eventtime.WatermarkGenerator;
import org.apache.flink.api.common.eventtime.WatermarkOutput;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The streaming feature operators over a file: {@code FileSource} (JSON lines, file order; one
 * split per partition with {@code --partitions}, per-split watermarks) → {@code keyBy(entity)} →
 * feature stage, per entity, one after the other. What {@code vigil run} executes on a local
 * MiniCluster, with RocksDB.
 */
public final class FileFeatureJob {
  private FileFeatureJob() {}

  /**
   * Local-cluster settings: RocksDB, no Kryo fallback, the given parallelism and max parallelism
   * (key groups: fixed for the life of a savepoint, so always set explicitly).
   */
  public static Configuration localConfig(int parallelism, int maxParallelism, Path checkpoints) {
    Configuration c = new Configuration();
    c.setString("state.backend.type", "rocksdb");
    c.setString("execution.checkpointing.dir", checkpoints.toUri().toString());
    c.setString("pipeline.generic-types", "false");
    c.setString("parallelism.default", Integer.toString(parallelism));
    c.setString("pipeline.max-parallelism", Integer.toString(maxParallelism));
    c.setString("taskmanager.numberOfTaskSlots", Integer.toString(Math.max(parallelism, 1)));
    c.setString("rest.bind-address", "127.0.0.1");
    c.setString("rest.address", "127.0.0.1");
    return c;
  }

  /**
   * Starts the job from a savepoint or retained checkpoint: the seam for {@code vigil run
   * --from-savepoint DIR} (a later issue), e.g. state written by {@code state-tools bootstrap}.
   * State maps to the feature stages by {@link OperatorUids#features}; the max parallelism must be
   * the one the savepoint was written with.
   */
  public static Configuration restoringFrom(Configuration config, Path savepoint) {
    config.setString("execution.state-recovery.path", savepoint.toUri().toString());
    return config;
  }

  /**
   * The file source, read in order, with watermarks trailing each partition's newest event time by
   * {@code outOfOrderness}: {@code partitions = 1} reads {@code input} itself; more reads the parts
   * {@link #split} wrote to {@code parts}, one source each, all at once (as a consumer reads a
   * topic's partitions).
   */
  public static DataStream<FeatureEvent> source(StreamExecutionEnvironment env, CompiledSpec spec,
      Path input, int partitions, Path parts, Duration outOfOrderness) {
    int featureCount = spec.spec().features().size();
    EntityEngine first = spec.engines().get(0);
    long bound = outOfOrderness.toMillis();
    // A watermark after every event, not on a timer: over a file, which events are behind the
    // watermark then depends on the file alone, not on how fast it was read.
    WatermarkStrategy<FeatureEvent> watermarks = WatermarkStrategy
        .<FeatureEvent>forGenerator(context -> new PerEventWatermarks(bound))
        .withTimestampAssigner(context -> (e, ts) -> first.eventTimeOf(e.event));
    if (partitions == 1) {
      FileSource<FeatureEvent> file = FileSource.forRecordStreamFormat(
              new JsonLinesFormat(spec.schema(), featureCount, input.getFileName().toString()),
              new org.apache.flink.core.fs.Path(input.toAbsolutePath().toUri()))
          .build();
      return env.fromSource(file, watermarks, "events: " + input.getFileName())
          .uid(OperatorUids.SOURCE)
          .setParallelism(1);
    }
    // One source per partition, each at parallelism 1: a FileSource hands its splits out on
    // request, so one reader could take a second file after finishing its first, by then far
    // ahead of it in event time, and every event of that file would be late.
    DataStream<FeatureEvent> all = null;
    for (int p = 0; p < partitions; p++) {
      FileSource<FeatureEvent> part = FileSource.forRecordStreamFormat(
              new JsonLinesFormat(spec.schema(), featureCount, input.getFileName().toString(),
                  true),
              new org.apache.flink.core.fs.Path(parts.resolve(partFile(p)).toAbsolutePath().toUri()))
          .build();
      DataStream<FeatureEvent> one = env.fromSource(part, watermarks,
              "events: " + input.getFileName() + " partition " + p)
          .uid(OperatorUids.SOURCE + "-partition-" + p)
          .setParallelism(1);
      all = all == null ? one : all.union(one);
    }
    return all;
  }

  static String partFile(int partition) {
    return String.format("part-%05d.jsonl", partition);
  }

  /** The newest event time of the split less the bound, emitted after every event. */
  static final class PerEventWatermarks implements WatermarkGenerator<FeatureEvent> {
    private final long bound;
    private long newest = Long.MIN_VALUE;

    PerEventWatermarks(long bound) {
      this.bound = bound;
    }

    @Override
    public void onEvent(FeatureEvent event, long timestamp, WatermarkOutput output) {
      if (timestamp > newest) {
        newest = timestamp;
        output.emitWatermark(new Watermark(newest - bound - 1));
      }
    }

    @Override
    public void onPeriodicEmit(WatermarkOutput output) {}
  }

  /** {@link #source} of one partition, in event order of the file, no lag in the watermark. */
  public static DataStream<FeatureEvent> source(
      StreamExecutionEnvironment env, CompiledSpec spec, Path input) {
    return source(env, spec, input, 1, null, Duration.ZERO);
  }

  /**
   * Splits {@code input} into {@code partitions} files in {@code dir} as a producer keyed by the
   * spec's first entity would split a topic ({@link KeyPartitioner}), each line prefixed by its line
   * number in {@code input}. Returns the number of events.
   */
  public static long split(CompiledSpec spec, Path input, int partitions, Path dir)
      throws IOException, EventFiles.BadInputException {
    EntityEngine first = spec.engines().get(0);
    EventJson json = new EventJson(spec.schema());
    BufferedWriter[] out = new BufferedWriter[partitions];
    long events = 0;
    try (BufferedReader in = Files.newBufferedReader(input, StandardCharsets.UTF_8)) {
      for (int p = 0; p < partitions; p++) {
        out[p] = Files.newBufferedWriter(dir.resolve(partFile(p)), StandardCharsets.UTF_8);
      }
      String line;
      long lineNo = 0;
      while ((line = in.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) {
          continue;
        }
        IndexedRecord event;
        try {
          event = json.parse(line);
        } catch (EventJson.BadEventException e) {
          throw new EventFiles.BadInputException(input.getFileName() + ":" + lineNo + ": "
              + e.getMessage());
        }
        BufferedWriter w = out[KeyPartitioner.partition(first.keyOf(event), partitions)];
        w.write(Long.toString(lineNo));
        w.write(' ');
        w.write(line);
        w.newLine();
        events++;
      }
    } finally {
      for (BufferedWriter w : out) {
        if (w != null) {
          w.close();
        }
      }
    }
    return events;
  }

  /**
   * The output of {@code vigil run}: each event's line, formatted at the stages' parallelism, then
   * one sink writing {@code file} sorted by event time and input line when the input ends.
   */
  public static void writeSorted(FeaturePipeline.Stages stages, CompiledSpec spec, Path file) {
    stages.output()
        .map(new OutputLines(spec.engines().get(0), spec.spec().featureNames(), spec.schema()),
            OutputLines.TYPE)
        .uid(OperatorUids.RUN_LINES)
        .name("output lines")
        .sinkTo(new SortedLinesSink(file))
        .uid(OperatorUids.RUN_SINK)
        .name("sorted JSON lines: " + file.getFileName())
        .setParallelism(1);
  }

  /** Source → feature stages. */
  public static FeaturePipeline.Stages defineWorkflow(
      StreamExecutionEnvironment env, CompiledSpec spec, DataStream<FeatureEvent> source) {
    return FeaturePipeline.defineWorkflow(source, spec);
  }
}
