package dev.vigil.infra.kafka;

import dev.vigil.infra.Ports;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A real single-node KRaft broker in its own JVM (same classpath as this one), on loopback: what
 * the local environment runs, so that the job's JVM and the broker's do not share a heap or a
 * fate. {@link #close()} (or this JVM exiting, which closes the child's stdin) stops it.
 */
public final class KafkaBrokerProcess implements AutoCloseable {
  private static final long START_TIMEOUT_SECONDS = 90;
  private final Process process;
  private final int port;
  private final Path log;

  private KafkaBrokerProcess(Process process, int port, Path log) {
    this.process = process;
    this.port = port;
    this.log = log;
  }

  /** Starts a broker JVM on {@code port} (fails fast, naming it, if the port is taken). */
  public static KafkaBrokerProcess start(int port, String heap) {
    Ports.ensureFree(port, "the Kafka broker", "--kafka-port");
    String java = ProcessHandle.current().info().command().orElse("java");
    Path log;
    try {
      log = Files.createTempFile("vigil-kafka-" + port + "-", ".log");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    List<String> command = List.of(java, "-Xmx" + heap, "-XX:TieredStopAtLevel=1",
        "-cp", System.getProperty("java.class.path"), KafkaBrokerMain.class.getName(),
        Integer.toString(port));
    Process process;
    try {
      process = new ProcessBuilder(command).redirectError(log.toFile()).start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start the Kafka broker JVM: " + command, e);
    }
    KafkaBrokerProcess broker = new KafkaBrokerProcess(process, port, log);
    broker.awaitReady();
    return broker;
  }

  private void awaitReady() {
    BufferedReader out = new BufferedReader(
        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
    // One daemon thread reads the child's output to its end (a full pipe would block the child):
    // it completes `ready` on the ready line, or with null when the child exits first.
    CompletableFuture<String> ready = new CompletableFuture<>();
    Thread drain = new Thread(() -> {
      try {
        String line;
        while ((line = out.readLine()) != null) {
          if (!ready.isDone() && line.startsWith(KafkaBrokerMain.READY)) {
            ready.complete(line.substring(KafkaBrokerMain.READY.length()));
          }
        }
      } catch (IOException e) {
        // the child is gone
      }
      ready.complete(null);
    }, "kafka-broker-output");
    drain.setDaemon(true);
    drain.start();
    try {
      String bootstrap = ready.get(START_TIMEOUT_SECONDS, TimeUnit.SECONDS);
      if (bootstrap == null) {
        throw new IllegalStateException("the Kafka broker JVM exited before it was ready; "
            + logTail());
      }
    } catch (TimeoutException e) {
      close();
      throw new IllegalStateException("the Kafka broker on port " + port + " was not ready within "
          + START_TIMEOUT_SECONDS + " s; " + logTail());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      close();
      throw new IllegalStateException("interrupted while starting the Kafka broker", e);
    } catch (java.util.concurrent.ExecutionException e) {
      close();
      throw new IllegalStateException("cannot read the Kafka broker's output: " + e.getCause(), e);
    }
  }

  private String logTail() {
    try {
      List<String> lines = Files.readAllLines(log);
      return "its log (" + log + "):\n"
          + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size()));
    } catch (IOException e) {
      return "its log " + log + " cannot be read: " + e;
    }
  }

  /** {@code 127.0.0.1:port}. */
  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  public boolean isAlive() {
    return process.isAlive();
  }

  /** Stops the broker: closes its stdin (a clean shutdown), then terminates it if it lingers. */
  @Override
  public void close() {
    try {
      process.getOutputStream().close();
    } catch (IOException ignored) {
      // already gone
    }
    try {
      if (!process.waitFor(20, TimeUnit.SECONDS)) {
        process.destroy();
        if (!process.waitFor(10, TimeUnit.SECONDS)) {
          process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
    try {
      Files.deleteIfExists(log);
    } catch (IOException ignored) {
      // a temp file
    }
  }
}
