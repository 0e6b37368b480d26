package dev.vigil.schemas.contracts.cli;

import picocli.CommandLine;

/**
 * The standalone contract checker ({@code java -jar vigil-contracts.jar check …}) for producer
 * teams that do not build Vigil: the same command as {@code vigil contracts}, no Flink inside.
 */
public final class ContractsMain {
  private ContractsMain() {}

  /** The command line, for tests. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new ContractsCommand());
    cl.setCommandName("vigil-contracts");
    cl.setExecutionExceptionHandler(
        (e, line, parsed) -> {
          line.getErr().println("vigil-contracts: internal error: " + e);
          line.getErr().flush();
          return 3;
        });
    return cl;
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }
}
