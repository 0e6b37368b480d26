package dev.vigil.statetools;

import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vigil state bootstrap}: see {@link Bootstrap}. Exit 0 written, 2 bad input, 3 failed. */
@Command(
    name = "bootstrap",
    mixinStandardHelpOptions = true,
    description = {
      "Builds the feature stages' state as of the cut-over from a history file, as a savepoint"
          + " the scoring job and 'vigil run --from-savepoint' start from (read the source from"
          + " the cut-over on, so that no event counts twice or is missed).",
      "Events at or after the cut-over are skipped. The history is processed in event-time order"
          + " (a file not in order is sorted in memory first). Progress on stderr."
    })
public final class BootstrapCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--spec", required = true, paramLabel = "F.yaml", description = "The feature spec.")
  Path specFile;

  @Option(names = "--input", required = true, paramLabel = "history",
      description = "History: JSON lines (.jsonl), Avro (.avro) or Parquet (.parquet) events.")
  Path input;

  @Option(names = "--cutover", required = true, paramLabel = "T",
      description = "ISO-8601 UTC (2026-03-01T00:00:00Z) or epoch millis: events strictly before"
          + " it go into the state.")
  String cutover;

  @Option(names = "--savepoint", required = true, paramLabel = "DIR",
      description = "The savepoint directory to write.")
  Path savepoint;

  @Option(names = "--max-parallelism",
      defaultValue = "" + OperatorUids.DEFAULT_MAX_PARALLELISM, paramLabel = "N",
      description = "Key groups; must be the job's. Default: ${DEFAULT-VALUE}.")
  int maxParallelism;

  @Option(names = "--parallelism", defaultValue = "2", paramLabel = "N",
      description = "Writer subtasks. Default: ${DEFAULT-VALUE}.")
  int parallelism;

  @Option(names = "--dedupe-horizon", defaultValue = "24h", paramLabel = "DURATION",
      description = "Also write each key's transaction ids of this long before the cut-over (the"
          + " job's dedupe state); 0 for none. Default: ${DEFAULT-VALUE}.")
  String dedupeHorizon;

  @Option(names = "--force", description = "Replace an existing savepoint directory.")
  boolean force;

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    try {
      CommandSupport.parallelism(parallelism, maxParallelism);
      long t = CommandSupport.cutover(cutover);
      long horizon = CommandSupport.horizon(dedupeHorizon);
      CompiledSpec compiled = CommandSupport.spec(specFile);
      PrintStream progress = new PrintStream(new WriterStream(err), true, StandardCharsets.UTF_8);
      Bootstrap.Summary s = Bootstrap.run(compiled, input, t, savepoint, maxParallelism,
          parallelism, horizon, force, progress);
      err.printf(Locale.ROOT, "bootstrap: %s: %,d events before %s, keys %s, max parallelism %d,"
              + " in %.1f s (%,.0f events/s)%n", savepoint, s.history().events(),
          s.stamp().cutover(), s.keys(), maxParallelism, s.seconds(),
          s.history().events() / Math.max(s.seconds(), 1e-9));
      err.flush();
      return 0;
    } catch (StateToolException e) {
      err.println("state bootstrap: " + e.getMessage());
      return e.getMessage().startsWith("the savepoint job failed") ? 3 : 2;
    }
  }
}
