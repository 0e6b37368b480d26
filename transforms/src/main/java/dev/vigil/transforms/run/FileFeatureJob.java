package dev.vigil.transforms.run;

import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.FeaturePipeline;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.file.Path;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.FileSource;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

/**
 * The streaming feature operators over a file: {@code FileSource} (JSON lines, file order) →
 * {@code keyBy(entity)} → feature stage, per entity. What {@code vigil run} executes on a local
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

  /** The file source: one split per file, read in order. */
  public static DataStream<FeatureEvent> source(
      StreamExecutionEnvironment env, CompiledSpec spec, Path input) {
    FileSource<FeatureEvent> files =
        FileSource.forRecordStreamFormat(
                new JsonLinesFormat(spec.schema(), spec.spec().features().size(),
                    input.getFileName().toString()),
                new org.apache.flink.core.fs.Path(input.toAbsolutePath().toUri()))
            .build();
    return env.fromSource(files, WatermarkStrategy.noWatermarks(), "events: " + input.getFileName())
        .uid(OperatorUids.SOURCE)
        .setParallelism(1);
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
