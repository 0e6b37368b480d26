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
 * A real Apicurio Registry (loopback only) in its own JVM, for integration tests and the local
 * environment: the Confluent-compatible API is at {@link #confluentApiUrl()}.
 *
 * <p>Storage is in memory by default (Apicurio's H2 {@code mem:} database): a stopped registry
 * forgets its schemas. {@link #start(int, Path)} keeps them in an H2 file database under a
 * directory instead (Apicurio 3.0.9's {@code apicurio.datasource.url=jdbc:h2:file:…}), so a
 * registry stopped ({@link #close()}) and started again on the same port and directory ({@link
 * #restart()}) answers for the same ids, and numbers new ones after them: a registry outage, as a
 * client sees it.
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
  private final Path dataDir;

  private ApicurioRegistry(Process process, int port, Path log, Path dataDir) {
    this.process = process;
    this.port = port;
    this.log = log;
    this.dataDir = dataDir;
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
    return start(port, null);
  }

  /**
   * Starts a registry on {@code port} whose schemas are kept in files under {@code dataDir}
   * (created if missing; null: in memory), and waits for it. The same directory again gives the
   * same schemas under the same ids.
   */
  public static ApicurioRegistry start(int port, Path dataDir) {
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
    List<String> command = new java.util.ArrayList<>(List.of(
        java,
        "-Xmx512m",
        "-XX:TieredStopAtLevel=1",
        "-Dquarkus.http.host=127.0.0.1",
        "-Dquarkus.http.port=" + port,
        "-Dquarkus.log.level=WARN",
        "-Dquarkus.http.access-log.enabled=false"));
    if (dataDir != null) {
      try {
        Files.createDirectories(dataDir);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot create the registry's data directory " + dataDir, e);
      }
      // The storage Apicurio uses anyway (SQL on H2), in a file instead of in memory.
      command.add("-Dapicurio.datasource.url=jdbc:h2:file:"
          + dataDir.toAbsolutePath().resolve("registry"));
    }
    command.addAll(List.of("-jar", runner.toString()));
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
    ApicurioRegistry registry = new ApicurioRegistry(process, port, log, dataDir);
    registry.awaitReady();
    return registry;
  }

  /**
   * Stops this registry (if it still runs) and starts a new one on the same port with the same
   * data directory: the schemas and ids of before when it has one ({@link #start(int, Path)}),
   * none when it is in memory.
   */
  public ApicurioRegistry restart() {
    close();
    return start(port, dataDir);
  }

  /** Whether the registry's process is running. */
  public boolean isRunning() {
    return process.isAlive();
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
