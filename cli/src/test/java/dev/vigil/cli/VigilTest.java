package dev.vigil.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class VigilTest {

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Vigil.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void helpListsEveryRegisteredCommand() {
    Run run = run("--help");
    assertThat(run.exit()).isZero();
    for (String name : Vigil.commandLine().getSubcommands().keySet()) {
      assertThat(run.out()).contains("  " + name + " ");
    }
    assertThat(run.out()).contains("Exit codes:");
  }

  @Test
  void noCommandIsAUsageError() {
    Run run = run();
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("Missing a command");
  }

  @Test
  void unknownCommandIsAUsageErrorNamingIt() {
    Run run = run("frobnicate");
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("frobnicate");
  }
}
