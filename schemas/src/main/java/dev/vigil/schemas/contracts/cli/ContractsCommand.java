package dev.vigil.schemas.contracts.cli;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code vigil contracts}: schema contracts with upstream producers. */
@Command(
    name = "contracts",
    mixinStandardHelpOptions = true,
    description = "Schema contracts: fail a breaking change in the producer's CI, before it is"
        + " registered.",
    subcommands = {CheckCommand.class})
public final class ContractsCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing a command (check).");
  }
}
