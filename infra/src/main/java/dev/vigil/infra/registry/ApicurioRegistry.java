package dev.vigil.infra.registry;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.HttpURLConnection;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A real Apicurio Registry (in-memory storage, loopback only) in its own JVM, for integration
 * tests and the local environment: the Confluent-compatible API is at {@link #confluentApiUrl()}.
 *
 * <p>The distribution is the {@code io.apicurio:apicurio-registry-app:tar.gz:all} artifact, which
 * Maven resolves from Maven Central and whose path the build passes in the system property
 * {@code vigil.apicurio.archive}. It is unpacked once into {@code ~/.cache/vigil/} and reused.
 * {@link #shared()} starts one registry per test JVM (about 5 s) and stops it when the JVM exits.
 */
public final class ApicurioRegistry implements AutoCloseable {
  public static final String ARCHIVE_PROPERTY = "vigil.apicurio.archive";
  private static final Duration START_TIMEOUT = Duration.ofSeconds(120);
  private static ApicurioRegistry shared;

  private final Process process;
  private final int port;
  private final Path log;

  private ApicurioRegistry(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** The registry shared by every test of this JVM, started on first use. */
  public static synchronized ApicurioRegistry shared() {
    if (shared == null) {
      shared = start();
      ApicurioRegistry started = shared;
      Runtime.getRuntime().addShutdownHook(new Thread(started::close, "apicurio-stop"));
    }
    return shared;
  }

  /** Starts a new registry on a free loopback port and waits until it answers. */
  public static ApicurioRegistry start() {
    return start(freePort());
  }

  /** Starts a registry on {@code port} (fails fast, naming it, if taken) and waits for it. */
  public static ApicurioRegistry start(int port) {
    dev.vigil.infra.Ports.ensureFree(port, "the schema registry", "--registry-port");
    Path home = unpackedDistribution();
    Path runner;
    try (Stream<Path> files = Files.list(home)) {
      runner =
          files
              .filter(p -> p.getFileName().toString().endsWith("-runner.jar"))
              .findFirst()
              .orElseThrow(() -> new IllegalStateException("no *-runner.jar in " + home));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    Path log;
    try {
      log = Files.createTempFile("apicurio-" + port + "-", ".log");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    String java = ProcessHandle.current().info().command().orElse("java");
    List<String> command =
        List.of(
            java,
            "-Xmx512m",
            "-XX:TieredStopAtLevel=1",
            "-Dquarkus.http.host=127.0.0.1",
            "-Dquarkus.http.port=" + port,
            "-Dquarkus.log.level=WARN",
            "-Dquarkus.http.access-log.enabled=false",
            "-jar",
            runner.toString());
    Process process;
    try {
      process =
          new ProcessBuilder(command)
              .directory(home.toFile())
              .redirectErrorStream(true)
              .redirectOutput(log.toFile())
              .start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start Apicurio Registry: " + command, e);
    }
    ApicurioRegistry registry = new ApicurioRegistry(process, port, log);
    registry.awaitReady();
    return registry;
  }

  /** The Confluent Schema Registry API root, e.g. {@code http://127.0.0.1:PORT/apis/ccompat/v7}. */
  public String confluentApiUrl() {
    return "http://127.0.0.1:" + port + "/apis/ccompat/v7";
  }

  public int port() {
    return port;
  }

  @Override
  public void close() {
    process.descendants().forEach(ProcessHandle::destroy);
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    URI probe = URI.create(confluentApiUrl() + "/subjects");
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException(
            "Apicurio Registry exited with code " + process.exitValue() + "; its log:\n" + logTail());
      }
      try {
        HttpURLConnection c = (HttpURLConnection) probe.toURL().openConnection();
        c.setConnectTimeout(500);
        c.setReadTimeout(2000);
        if (c.getResponseCode() == 200) {
          return;
        }
      } catch (IOException notYet) {
        // still starting
      }
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for Apicurio Registry", e);
      }
    }
    close();
    throw new IllegalStateException(
        "Apicurio Registry did not answer on port " + port + " within " + START_TIMEOUT
            + "; its log:\n" + logTail());
  }

  private String logTail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return String.join("\n", lines.subList(Math.max(0, lines.size() - 40), lines.size()));
    } catch (IOException e) {
      return "(cannot read " + log + ": " + e + ")";
    }
  }

  private static Path unpackedDistribution() {
    String archive = System.getProperty(ARCHIVE_PROPERTY);
    if (archive == null || !Files.isRegularFile(Paths.get(archive))) {
      throw new IllegalStateException(
          "system property " + ARCHIVE_PROPERTY + " must name the apicurio-registry-app tar.gz"
              + " (the build sets it; was: " + archive + "). Run the tests with ./mvnw verify;"
              + " ./vigil passes it from the build of the cli module.");
    }
    Path tarGz = Paths.get(archive);
    String name = tarGz.getFileName().toString().replace(".tar.gz", "");
    Path target = Paths.get(System.getProperty("user.home"), ".cache", "vigil", name);
    Path done = target.resolve(".unpacked");
    if (Files.exists(done)) {
      return target;
    }
    try {
      Files.createDirectories(target.getParent());
      Path tmp = Files.createTempDirectory(target.getParent(), name + ".tmp");
      Process tar =
          new ProcessBuilder("tar", "xzf", tarGz.toString(), "-C", tmp.toString())
              .redirectErrorStream(true)
              .start();
      String output = new String(tar.getInputStream().readAllBytes());
      if (tar.waitFor() != 0) {
        throw new IllegalStateException("cannot unpack " + tarGz + ": " + output);
      }
      Files.createFile(tmp.resolve(".unpacked"));
      try {
        Files.move(tmp, target);
      } catch (IOException raced) {
        // another JVM unpacked it first: use theirs
        if (!Files.exists(done)) {
          throw raced;
        }
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot unpack " + tarGz, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static int freePort() {
    try (ServerSocket socket = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
