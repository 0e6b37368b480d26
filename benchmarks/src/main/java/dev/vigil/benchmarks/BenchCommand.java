package dev.vigil.benchmarks;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code vigil bench}: benchmarks that run on this machine. */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    description = "Benchmarks on this machine; figures and the commands that made them are in"
        + " benchmarks/README.md.",
    subcommands = {FeaturesBenchmark.class, PipelineBenchmark.class,
        dev.vigil.statetools.BootstrapBenchmark.class})
public final class BenchCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing a command (features, pipeline).");
  }
}
