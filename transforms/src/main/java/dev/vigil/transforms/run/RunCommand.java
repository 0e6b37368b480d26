package dev.vigil.transforms.run;

import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.SpecException;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vigil run}: the streaming feature operators on a local Flink MiniCluster over a file. */
@Command(
    name = "run",
    mixinStandardHelpOptions = true,
    description = {
      "Runs the streaming feature operators (RocksDB state) on a local Flink MiniCluster over a"
          + " file of events and writes the feature vectors: the same vectors as 'features"
          + " backfill' for a file in event-time order.",
      "Output rows are sorted by event time, then input line."
    })
public final class RunCommand implements Callable<Integer> {
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

  @Override
  public Integer call() throws Exception {
    PrintWriter err = spec.commandLine().getErr();
    if (parallelism < 1 || maxParallelism < parallelism) {
      err.println("run: --parallelism must be ≥ 1 and ≤ --max-parallelism");
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
    Path checkpoints = Files.createTempDirectory("vigil-run-checkpoints");
    long started = System.nanoTime();
    List<FeatureEvent> rows = new ArrayList<>();
    try {
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(
          FileFeatureJob.localConfig(parallelism, maxParallelism, checkpoints));
      var stages = FileFeatureJob.defineWorkflow(env, compiled, FileFeatureJob.source(env, compiled, input));
      try (CloseableIterator<FeatureEvent> it = stages.output().executeAndCollect("vigil run")) {
        it.forEachRemaining(rows::add);
      }
    } catch (Exception e) {
      String reason = rootMessage(e);
      err.println("run: the job failed: " + reason);
      return reason.startsWith(input.getFileName().toString()) ? 2 : 3;
    }
    long expected;
    try (var lines = Files.lines(input, StandardCharsets.UTF_8)) {
      expected = lines.filter(l -> !l.isBlank()).count();
    }
    if (rows.size() != expected) {
      err.printf("run: the job returned %,d feature vectors for %,d input events; not writing %s%n",
          rows.size(), expected, output);
      return 3;
    }
    var engine = compiled.engines().get(0);
    rows.sort(Comparator.<FeatureEvent>comparingLong(r -> engine.eventTimeOf(r.event))
        .thenComparingLong(r -> r.seq));
    long late = rows.stream().filter(r -> r.late).count();
    var idField = compiled.schema().getField("transaction_id");
    List<String> names = compiled.spec().featureNames();
    Path parent = output.toAbsolutePath().getParent();
    try {
      Files.createDirectories(parent);
    } catch (IOException e) {
      err.println("run: cannot create the output folder " + parent + ": " + e.getMessage());
      return 2;
    }
    try (BufferedWriter w = Files.newBufferedWriter(output, StandardCharsets.UTF_8)) {
      for (FeatureEvent r : rows) {
        Object id = idField == null ? null : r.event.get(idField.pos());
        w.write(new FeatureRow(id == null ? null : id.toString(), engine.eventTimeOf(r.event),
            r.values).toJson(names));
        w.write('\n');
      }
    } catch (IOException e) {
      err.println("run: cannot write " + output + ": " + e.getMessage());
      return 2;
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    err.printf(Locale.ROOT, "run: %,d events → %s in %.1f s (%,.0f events/s, parallelism %d, RocksDB), %d late%n",
        rows.size(), output, seconds, rows.size() / seconds, parallelism, late);
    err.flush();
    return 0;
  }

  private static String rootMessage(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t) {
      t = t.getCause();
    }
    return t.getMessage() == null ? t.toString() : t.getMessage();
  }
}
