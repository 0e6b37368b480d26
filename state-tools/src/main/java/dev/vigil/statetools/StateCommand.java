package dev.vigil.statetools;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code vigil state}: savepoint tools over the feature stages' state. */
@Command(
    name = "state",
    mixinStandardHelpOptions = true,
    description = "Savepoints of the feature stages: build one from history, add a feature to"
        + " one, inspect and verify one (docs/state-tools.md).",
    subcommands = {BootstrapCommand.class, AddFeatureCommand.class, InspectCommand.class,
        VerifyCommand.class})
public final class StateCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "state: name a command: bootstrap,"
        + " add-feature, inspect or verify");
  }
}
