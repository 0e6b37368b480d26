package dev.vigil.statetools;

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

/** {@code vigil state add-feature}: see {@link AddFeature}. Exit 0 written, 2 refused, 3 failed. */
@Command(
    name = "add-feature",
    mixinStandardHelpOptions = true,
    description = {
      "Writes a savepoint for a spec that gained features: the new features' state computed from"
          + " history up to the old savepoint's cut-over, every existing feature's state carried"
          + " over byte for byte.",
      "Refuses a spec that removes or changes a feature, and a history that does not match the"
          + " savepoint.",
      "A running job's savepoint (stop-with-savepoint) has no cut-over: give --old-spec, the"
          + " spec the job ran, and as --input the events the job had consumed (a superset such"
          + " as the whole input topic will do: each key's history stops at its newest applied"
          + " event); the events waiting in event-time stages are carried over."
    })
public final class AddFeatureCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--savepoint", required = true, paramLabel = "OLD",
      description = "The savepoint to extend (from bootstrap or add-feature).")
  Path savepoint;

  @Option(names = "--spec", required = true, paramLabel = "NEW.yaml",
      description = "The new spec: the old one plus features.")
  Path specFile;

  @Option(names = "--input", required = true, paramLabel = "history",
      description = "History up to the old savepoint's cut-over (.jsonl, .avro, .parquet).")
  Path input;

  @Option(names = "--savepoint-out", required = true, paramLabel = "NEW",
      description = "The savepoint directory to write.")
  Path out;

  @Option(names = "--old-spec", paramLabel = "OLD.yaml",
      description = "For a running job's savepoint (no stamp): the spec the job ran.")
  Path oldSpecFile;

  @Option(names = "--dedupe-horizon", defaultValue = "24h", paramLabel = "DURATION",
      description = "For a running job's savepoint: the job's dedupe.horizon (the first"
          + " entity's dedupe state). Default: ${DEFAULT-VALUE}.")
  String dedupeHorizon;

  @Option(names = "--parallelism", defaultValue = "2", paramLabel = "N") int parallelism;

  @Option(names = "--force", description = "Replace an existing --savepoint-out directory.")
  boolean force;

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    try {
      CompiledSpec compiled = CommandSupport.spec(specFile);
      PrintStream progress = new PrintStream(new WriterStream(err), true, StandardCharsets.UTF_8);
      AddFeature.JobSavepoint job = null;
      if (oldSpecFile != null) {
        long horizon = CommandSupport.horizon(dedupeHorizon);
        job = new AddFeature.JobSavepoint(CommandSupport.spec(oldSpecFile), horizon);
      }
      AddFeature.Summary s = AddFeature.run(savepoint, compiled, input, out, parallelism, force,
          progress, job);
      err.printf(Locale.ROOT, "add-feature: %s: entities %s, %s, in %.1f s%n", out,
          s.entities(), s.stamp() == null ? "from a job's savepoint"
              : "cut-over " + s.stamp().cutover(), s.seconds());
      err.flush();
      return 0;
    } catch (StateToolException e) {
      err.println("state add-feature: " + e.getMessage());
      return e.getMessage().startsWith("the savepoint job failed") ? 3 : 2;
    }
  }
}
