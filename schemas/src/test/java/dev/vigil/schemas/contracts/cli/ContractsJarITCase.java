package dev.vigil.schemas.contracts.cli;

import static dev.vigil.schemas.contracts.cli.CliRun.write;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The standalone {@code vigil-contracts.jar}, run as producers' CI runs it: a separate JVM. */
class ContractsJarITCase {
  @TempDir Path dir;

  record Proc(int exit, String out, String err) {}

  static Proc java(Path dir, String... args) throws Exception {
    Path jar = Paths.get(System.getProperty("vigil.contracts.jar", "target/vigil-contracts.jar"));
    assertThat(jar).exists();
    List<String> command = new ArrayList<>(List.of(
        ProcessHandle.current().info().command().orElse("java"), "-jar", jar.toAbsolutePath().toString()));
    command.addAll(List.of(args));
    Path out = dir.resolve("out.txt");
    Path err = dir.resolve("err.txt");
    Process p = new ProcessBuilder(command).directory(dir.toFile())
        .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    return new Proc(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
        Files.readString(err, StandardCharsets.UTF_8));
  }

  @Test
  void exitCodesAreZeroOneTwoAndNothingElseIsPrinted() throws Exception {
    write(dir, "v1.avsc", CliRun.V1);
    write(dir, "v2.avsc", CliRun.V2);
    write(dir, "new.avsc", CliRun.NEW_REQUIRED);
    write(dir, "bad.avsc", "{\"type\": ");

    Proc ok = java(dir, "check", "--schema", "v2.avsc", "--previous", "v1.avsc");
    assertThat(ok.exit()).isZero();
    assertThat(ok.err()).isEmpty(); // no logging noise, no SLF4J warnings

    Proc broken = java(dir, "check", "--schema", "new.avsc", "--previous", "v1.avsc",
        "--previous", "v2.avsc", "--compatibility", "BACKWARD_TRANSITIVE", "--format", "github");
    assertThat(broken.exit()).isEqualTo(1);
    assertThat(broken.out()).contains("::error file=new.avsc,title=READER_FIELD_MISSING_DEFAULT_VALUE risk::");

    Proc bad = java(dir, "check", "--schema", "bad.avsc", "--previous", "v1.avsc");
    assertThat(bad.exit()).isEqualTo(2);
    assertThat(bad.err()).contains("bad.avsc:1:").doesNotContain("\tat ");
  }

  @Test
  void helpListsTheCheckCommand() throws Exception {
    Proc help = java(dir, "check", "--help");
    assertThat(help.exit()).isZero();
    assertThat(help.out()).contains("--schema", "--previous", "--registry", "--compatibility",
        "--consumers", "--format");
  }
}
