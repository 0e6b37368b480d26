package dev.vigil.k8s;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The Prometheus rules in {@code k8s/monitoring/}, checked by the real promtool: every rule file
 * parses ({@code promtool check rules}), and every {@code *.test.yaml} beside them passes ({@code
 * promtool test rules}: series in, alerts and recorded values out).
 *
 * <p>promtool is the one on the PATH, else Debian's {@code prometheus} package unpacked under the
 * build folder ({@code apt-get download} and {@code dpkg-deb -x}: no root, nothing installed on
 * the machine). Without either the test fails and says so: the rules are not checked otherwise.
 */
class AlertRulesTest {
  static Path promtool;

  @BeforeAll
  static void findPromtool() throws Exception {
    promtool = locate();
  }

  @Test
  void everyRuleFileParses() throws Exception {
    List<Path> rules = files(".rules.yaml");
    assertThat(rules).as("rule files in %s", monitoring()).isNotEmpty();
    for (Path r : rules) {
      Result result = run(monitoring(), promtool.toString(), "check", "rules", r.toString());
      assertThat(result.exit()).as("promtool check rules %s:%n%s", r, result.output()).isZero();
    }
  }

  @Test
  void everyRuleTestPasses() throws Exception {
    List<Path> tests = files(".test.yaml");
    assertThat(tests).as("rule tests in %s", monitoring()).isNotEmpty();
    for (Path t : tests) {
      Result result = run(monitoring(), promtool.toString(), "test", "rules",
          t.getFileName().toString());
      assertThat(result.exit()).as("promtool test rules %s:%n%s", t, result.output()).isZero();
      assertThat(result.output()).contains("SUCCESS");
    }
  }

  /** A rule test that expects what the rules do not do fails: promtool really compares. */
  @Test
  void aWrongExpectationFails() throws Exception {
    Path dir = Files.createTempDirectory(Repo.root().resolve("k8s").resolve(Repo.buildDir()),
        "rules");
    for (Path r : files(".rules.yaml")) {
      Files.copy(r, dir.resolve(r.getFileName()));
    }
    Path test = monitoring().resolve("vigil-reconciliation.test.yaml");
    String text = Files.readString(test);
    // the lost records' alert, expected firing 7 minutes too early
    String wrong = text.replace("      - eval_time: 21m", "      - eval_time: 14m");
    assertThat(wrong).isNotEqualTo(text);
    Files.writeString(dir.resolve(test.getFileName()), wrong);
    Result result = run(dir, promtool.toString(), "test", "rules", test.getFileName().toString());
    assertThat(result.exit()).as(result.output()).isNotZero();
    assertThat(result.output()).contains("VigilRecordsUnaccounted").contains("time: 14m");
  }

  static Path monitoring() {
    return Repo.k8s().resolve("monitoring");
  }

  private static List<Path> files(String suffix) throws IOException {
    try (Stream<Path> s = Files.list(monitoring())) {
      return s.filter(p -> p.getFileName().toString().endsWith(suffix)).sorted().toList();
    }
  }

  record Result(int exit, String output) {}

  /** Runs a command in {@code dir}, 2 minutes at most; the process is gone when this returns. */
  static Result run(Path dir, String... command) throws Exception {
    Process p = new ProcessBuilder(command).directory(dir.toFile()).redirectErrorStream(true)
        .start();
    try {
      byte[] out = p.getInputStream().readAllBytes(); // until it exits (or is killed below)
      if (!p.waitFor(2, TimeUnit.MINUTES)) {
        throw new AssertionError("timed out: " + String.join(" ", command));
      }
      return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
    } finally {
      p.destroyForcibly();
    }
  }

  private static Path locate() throws Exception {
    for (String dir : System.getenv().getOrDefault("PATH", "").split(":")) {
      Path candidate = Path.of(dir.isEmpty() ? "." : dir, "promtool");
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    Path unpacked = Repo.k8s().resolve(Repo.buildDir()).resolve("promtool");
    Path bin = unpacked.resolve("usr/bin/promtool");
    if (Files.isExecutable(bin)) {
      return bin;
    }
    Files.createDirectories(unpacked);
    List<String> log = new ArrayList<>();
    Result download = run(unpacked, "apt-get", "download", "prometheus");
    log.add("apt-get download prometheus: exit " + download.exit() + "\n" + download.output());
    Path deb;
    try (Stream<Path> s = Files.list(unpacked)) {
      deb = s.filter(f -> f.getFileName().toString().endsWith(".deb")).findFirst().orElse(null);
    }
    if (deb != null) {
      Result unpack = run(unpacked, "dpkg-deb", "-x", deb.toString(), unpacked.toString());
      log.add("dpkg-deb -x: exit " + unpack.exit() + "\n" + unpack.output());
      Files.delete(deb);
    }
    if (!Files.isExecutable(bin)) {
      throw new AssertionError("promtool is not on the PATH and Debian's prometheus package could"
          + " not be unpacked under " + unpacked + "; install it (apt-get install prometheus) to"
          + " check the rules in " + monitoring() + ":\n" + String.join("\n", log));
    }
    return bin;
  }
}
