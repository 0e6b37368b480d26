package dev.vigil.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParseResult;
import picocli.CommandLine.Spec;

/**
 * The {@code vigil} command: one entry point for every Vigil tool.
 *
 * <p>Exit codes, the same for every command: 0 success, 1 a check found a problem (for example an
 * incompatible schema), 2 bad input, usage or I/O error, 3 an internal error (a bug: please report
 * it with the output of {@code --verbose} or {@code VIGIL_LOG_LEVEL=DEBUG}).
 */
@Command(
    name = "vigil",
    mixinStandardHelpOptions = true,
    versionProvider = VersionProvider.class,
    description = {
      "Real-time ML features, fraud scoring and schema contracts on Apache Flink.",
      ""
    },
    footerHeading = "%nExit codes:%n",
    footer = {
      "  0  success",
      "  1  a check found a problem (e.g. an incompatible schema)",
      "  2  bad input, usage or I/O error (the message says what and where)",
      "  3  internal error (a bug: rerun with VIGIL_LOG_LEVEL=DEBUG and report it)",
      "",
      "Run 'vigil <command> --help' for a command's options."
    })
public final class Vigil implements Runnable {

  public static final int EXIT_INTERNAL_ERROR = 3;

  @Spec CommandSpec spec;

  @Override
  public void run() {
    // No command given: show what there is, and fail like any other usage error.
    throw new CommandLine.ParameterException(spec.commandLine(), "Missing a command.");
  }

  /** The command line with every command registered; tests call this in-process. */
  public static CommandLine commandLine() {
    CommandLine cl = new CommandLine(new Vigil());
    for (Object command : Commands.all()) {
      cl.addSubcommand(command);
    }
    cl.setExecutionExceptionHandler(new ReportInternalError());
    return cl;
  }

  public static void main(String[] args) {
    System.exit(commandLine().execute(args));
  }

  /** An exception that escaped a command is a bug: say so in one line, not a stack trace. */
  private static final class ReportInternalError implements IExecutionExceptionHandler {
    @Override
    public int handleExecutionException(Exception e, CommandLine cl, ParseResult parsed) {
      PrintWriter err = cl.getErr();
      err.printf("%s: internal error: %s%n", cl.getCommandSpec().qualifiedName(), e);
      if (System.getenv("VIGIL_LOG_LEVEL") != null) {
        e.printStackTrace(err);
      } else {
        err.println("  (rerun with VIGIL_LOG_LEVEL=DEBUG for the stack trace)");
      }
      err.flush();
      return EXIT_INTERNAL_ERROR;
    }
  }
}
