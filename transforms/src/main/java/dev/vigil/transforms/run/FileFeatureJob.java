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

  /** Local-cluster settings: RocksDB, no Kryo fallback, the given parallelism. */
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

  /** Source → feature stages. */
  public static FeaturePipeline.Stages defineWorkflow(
      StreamExecutionEnvironment env, CompiledSpec spec, DataStream<FeatureEvent> source) {
    return FeaturePipeline.defineWorkflow(source, spec);
  }
}
