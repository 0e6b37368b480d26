package dev.vigil.transforms.run;

import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.io.EventFiles;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.Durations;
import dev.vigil.transforms.spec.SpecException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vigil run}: the streaming feature operators on a local Flink MiniCluster over a file.
 *
 * <p>Steps: {@link JsonLinesFormat} file source (one reader, file order) → the feature stages of
 * {@link dev.vigil.transforms.flink.FeaturePipeline} (RocksDB, keyed per entity, state expired in event time) →
 * output lines formatted in parallel → one sink sorting them by event time then input line at the
 * end of the input → moved into place (never half written). Exit codes:
 * 0 done, 2 bad arguments or input (the message names the file and line), 3 the job failed.
 */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the streaming feature operators (RocksDB state) on a local Flink MiniCluster over a"
          + " file of events and writes the feature vectors: the same vectors as 'features"
          + " backfill' for a file in event-time order.",
      "Output rows are sorted by event time, then input line; the file appears when the run"
          + " completes. An event older than its key's"
          + " newest by more than the longest window is late: its features are null and it is"
          + " counted in the summary printed to stderr."
    })
public final class RunCommand implements Callable<Integer> {
  /** Flink's upper bound for max parallelism. */
  private static final int MAX_KEY_GROUPS = 1 << 15;

  @Spec CommandSpec spec;

  @Option(names = "--spec", required = true, paramLabel = "F.yaml", description = "The feature spec.")
  Path specFile;

  @Option(names = "--input", required = true, paramLabel = "events.jsonl",
      description = "Events as JSON lines, one Transaction per line.")
  Path input;

  @Option(names = "--output", required = true, paramLabel = "out.jsonl",
      description = "Feature vectors as JSON lines.")
  Path output;

  @Option(names = "--parallelism", defaultValue = "2", paramLabel = "N",
      description = "Parallelism of the feature stages. Default: ${DEFAULT-VALUE}.")
  int parallelism;

  @Option(names = "--max-parallelism", defaultValue = "" + OperatorUids.DEFAULT_MAX_PARALLELISM,
      paramLabel = "N", description = "Max parallelism (key groups). Default: ${DEFAULT-VALUE}.")
  int maxParallelism;

  @Option(names = "--partitions", defaultValue = "1", paramLabel = "N",
      description = "Split the input as a producer keyed by the spec's first entity would split a"
          + " topic into N partitions (Kafka's murmur2 partitioner), and read the N splits at once,"
          + " each with its own watermark: the multi-partition case without Kafka."
          + " Default: ${DEFAULT-VALUE}.")
  int partitions;

  @Option(names = "--out-of-orderness", defaultValue = "500ms", paramLabel = "D",
      description = "How far an event may trail its split's newest event time and still be in"
          + " order (the watermark's bound; 0 for a time-ordered file), as the job's"
          + " watermark.out-of-orderness. Default: ${DEFAULT-VALUE}.")
  String outOfOrderness;

  @Option(names = "--from-savepoint", paramLabel = "DIR",
      description = "Start the feature stages from this savepoint (e.g. from 'vigil state"
          + " bootstrap'); the input should then hold only the events from its cut-over on.")
  Path fromSavepoint;

  /** What {@code vigil state bootstrap} writes beside {@code _metadata} (see state-tools). */
  static final String STAMP = "vigil-savepoint.json";

  @Override
  public Integer call() throws Exception {
    PrintWriter err = spec.commandLine().getErr();
    if (parallelism < 1 || maxParallelism < parallelism || maxParallelism > MAX_KEY_GROUPS) {
      err.printf("run: --parallelism %d --max-parallelism %d: need 1 ≤ parallelism ≤ max"
          + " parallelism ≤ %d%n", parallelism, maxParallelism, MAX_KEY_GROUPS);
      return 2;
    }
    if (partitions < 1 || partitions > 1024) {
      err.printf("run: --partitions %d: need 1 to 1024%n", partitions);
      return 2;
    }
    Duration bound;
    try {
      bound = outOfOrderness.equals("0") ? Duration.ZERO
          : Duration.ofMillis(Durations.parseMillis(outOfOrderness));
    } catch (IllegalArgumentException e) {
      err.println("run: --out-of-orderness " + e.getMessage());
      return 2;
    }
    if (!Files.isRegularFile(input)) {
      err.println("run: " + input + ": no such file");
      return 2;
    }
    CompiledSpec compiled;
    try {
      compiled = CompiledSpec.load(specFile);
    } catch (SpecException e) {
      err.println("run: " + e.getMessage());
      return 2;
    }
    if (fromSavepoint != null) {
      String problem = savepointProblem(fromSavepoint, compiled, maxParallelism);
      if (problem != null) {
        err.println("run: --from-savepoint " + problem);
        return 2;
      }
    }
    Path target = output.toAbsolutePath();
    Path partial = target.resolveSibling(target.getFileName() + ".partial");
    try {
      Files.createDirectories(target.getParent());
    } catch (IOException e) {
      err.println("run: cannot create the output folder " + target.getParent() + ": "
          + e.getMessage());
      return 2;
    }
    Path checkpoints = Files.createTempDirectory("vigil-run-checkpoints");
    Path parts = partitions == 1 ? null : Files.createTempDirectory("vigil-run-partitions");
    long started = System.nanoTime();
    JobExecutionResult result;
    try {
      if (parts != null) {
        try {
          FileFeatureJob.split(compiled, input, partitions, parts);
        } catch (EventFiles.BadInputException e) {
          err.println("run: " + e.getMessage());
          return 2;
        }
      }
      var config = FileFeatureJob.localConfig(parallelism, maxParallelism, checkpoints);
      // One source subtask per partition, each in a slot of its own beside the stages.
      config.setString("taskmanager.numberOfTaskSlots",
          Integer.toString(Math.max(parallelism, partitions)));
      if (fromSavepoint != null) {
        FileFeatureJob.restoringFrom(config, fromSavepoint.toAbsolutePath());
      }
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config);
      var stages = FileFeatureJob.defineWorkflow(
          env, compiled, FileFeatureJob.source(env, compiled, input, partitions, parts, bound));
      FileFeatureJob.writeSorted(stages, compiled, partial);
      result = env.execute("vigil run");
    } catch (Exception e) {
      Files.deleteIfExists(partial);
      String reason = rootMessage(e);
      err.println("run: the job failed: " + reason);
      return reason.startsWith(input.getFileName().toString()) ? 2 : 3;
    } finally {
      deleteQuietly(checkpoints);
      if (parts != null) {
        deleteQuietly(parts);
      }
    }
    long events = result.<Long>getAccumulatorResult(OutputLines.EVENTS);
    long late = result.<Long>getAccumulatorResult(OutputLines.LATE);
    long expected;
    try (var in = Files.lines(input, StandardCharsets.UTF_8)) {
      expected = in.filter(l -> !l.isBlank()).count();
    }
    if (events != expected) {
      Files.deleteIfExists(partial);
      err.printf("run: the job returned %,d feature vectors for %,d input events; not writing %s%n",
          events, expected, output);
      return 3;
    }
    try {
      // Readers never see half a file: it appears whole or not at all.
      Files.move(partial, target, StandardCopyOption.REPLACE_EXISTING,
          StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      err.println("run: cannot write " + output + ": " + e.getMessage());
      return 2;
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    err.printf(Locale.ROOT,
        "run: %,d events → %s in %.1f s (%,.0f events/s, parallelism %d, %d partition%s,"
            + " RocksDB), %d late%n",
        events, output, seconds, events / seconds, parallelism, partitions,
        partitions == 1 ? "" : "s", late);
    err.flush();
    return 0;
  }

  /**
   * Why {@code dir} cannot start this run, or null: not a whole savepoint (no {@code _metadata}),
   * or stamped for another spec, another max parallelism, or without one of the spec's entities.
   * An unstamped savepoint (a job's own) is taken as it is: Flink checks its key groups.
   */
  String savepointProblem(Path dir, CompiledSpec spec, int maxParallelism) {
    if (!Files.isDirectory(dir)) {
      return dir + ": no such savepoint directory";
    }
    if (!Files.isRegularFile(dir.resolve("_metadata"))) {
      return dir + " has no _metadata: not a savepoint, or a partial one; write it again with"
          + " `vigil state bootstrap … --force`";
    }
    Path stamp = dir.resolve(STAMP);
    if (!Files.exists(stamp)) {
      return null;
    }
    com.fasterxml.jackson.databind.JsonNode json;
    try {
      json = new com.fasterxml.jackson.databind.ObjectMapper().readTree(stamp.toFile());
    } catch (IOException e) {
      return stamp + ": unreadable (" + e.getMessage() + "); write the savepoint again";
    }
    int mp = json.path("max_parallelism").asInt(-1);
    if (mp != maxParallelism) {
      return dir + " was written with max parallelism " + mp + ", not " + maxParallelism
          + ": pass --max-parallelism " + mp + ", or bootstrap again with --max-parallelism "
          + maxParallelism;
    }
    String fingerprint = json.path("spec_fingerprint").asText();
    if (!fingerprint.equals(spec.spec().fingerprint())) {
      return dir + " was made for another feature spec (fingerprint " + fingerprint + "), "
          + specFile + " is " + spec.spec().fingerprint() + ": bootstrap again for this spec, or"
          + " add the new features with `vigil state add-feature`";
    }
    for (var engine : spec.engines()) {
      String uid = OperatorUids.features(engine.entity());
      if (!uid.equals(json.path("entities").path(engine.entity()).asText())) {
        return dir + " has no state for operator uid " + uid + " (entity '" + engine.entity()
            + "'); bootstrap it with this spec";
      }
    }
    return null;
  }

  private static void deleteQuietly(Path dir) {
    try (var paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a leftover empty temp folder is harmless
    }
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }
}
