package dev.vigil.infra.kafka;

import dev.vigil.infra.Ports;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;

/**
 * A real single-node Kafka cluster (KRaft, broker and controller in one process), on loopback, from
 * the Kafka jars: what the tests and the local environment run against. Settings suit one node:
 * replication factors 1, transactions enabled ({@code read_committed} works), topics created
 * explicitly. The log directory is a fresh temp folder, deleted on {@link #close()}.
 */
public final class KafkaBroker implements AutoCloseable {
  private final int port;
  private final int controllerPort;
  private final Path dir;
  private final KafkaRaftServer server;

  private KafkaBroker(int port, int controllerPort, Path dir, KafkaRaftServer server) {
    this.port = port;
    this.controllerPort = controllerPort;
    this.dir = dir;
    this.server = server;
  }

  /** Starts a broker in this JVM on a free port. */
  public static KafkaBroker start() {
    return start(Ports.free());
  }

  /** Starts a broker in this JVM on {@code port} (fails fast, naming it, if it is taken). */
  public static KafkaBroker start(int port) {
    Ports.ensureFree(port, "the Kafka broker", "--kafka-port");
    int controllerPort = Ports.free();
    Path dir;
    try {
      dir = Files.createTempDirectory("vigil-kafka-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the broker's log directory", e);
    }
    Properties props = properties(port, controllerPort, dir.resolve("logs"));
    format(props, dir);
    KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
    try {
      server.startup();
    } catch (RuntimeException e) {
      deleteTree(dir);
      throw new IllegalStateException("the Kafka broker did not start on port " + port + ": " + e, e);
    }
    KafkaBroker broker = new KafkaBroker(port, controllerPort, dir, server);
    broker.awaitReady();
    return broker;
  }

  static Properties properties(int port, int controllerPort, Path logs) {
    Properties p = new Properties();
    p.putAll(Map.ofEntries(
        Map.entry("process.roles", "broker,controller"),
        Map.entry("node.id", "1"),
        Map.entry("controller.quorum.voters", "1@127.0.0.1:" + controllerPort),
        Map.entry("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort),
        Map.entry("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port),
        Map.entry("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"),
        Map.entry("controller.listener.names", "CONTROLLER"),
        Map.entry("inter.broker.listener.name", "PLAINTEXT"),
        Map.entry("log.dirs", logs.toString()),
        Map.entry("offsets.topic.replication.factor", "1"),
        Map.entry("offsets.topic.num.partitions", "4"),
        Map.entry("transaction.state.log.replication.factor", "1"),
        Map.entry("transaction.state.log.min.isr", "1"),
        Map.entry("transaction.state.log.num.partitions", "4"),
        Map.entry("share.coordinator.state.topic.replication.factor", "1"),
        Map.entry("share.coordinator.state.topic.min.isr", "1"),
        Map.entry("group.initial.rebalance.delay.ms", "0"),
        Map.entry("auto.create.topics.enable", "false"),
        Map.entry("num.partitions", "1"),
        Map.entry("log.segment.bytes", String.valueOf(16 * 1024 * 1024)),
        Map.entry("transaction.max.timeout.ms", String.valueOf(15 * 60 * 1000))));
    return p;
  }

  private static void format(Properties props, Path dir) {
    Path config = dir.resolve("server.properties");
    try (OutputStream out = Files.newOutputStream(config)) {
      props.store(out, "vigil single-node KRaft broker");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    int exit = StorageTool.execute(
        new String[] {"format", "-t", Uuid.randomUuid().toString(), "-c", config.toString()},
        new PrintStream(output, true, StandardCharsets.UTF_8));
    if (exit != 0) {
      throw new IllegalStateException("cannot format the broker's storage in " + dir + ": "
          + output.toString(StandardCharsets.UTF_8));
    }
  }

  private void awaitReady() {
    long deadline = System.nanoTime() + 60_000_000_000L;
    Exception last = null;
    while (System.nanoTime() < deadline) {
      try (Admin admin = admin()) {
        if (!admin.describeCluster().nodes().get().isEmpty()) {
          return;
        }
      } catch (ExecutionException | RuntimeException e) {
        last = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the Kafka broker", e);
      }
    }
    close();
    throw new IllegalStateException("the Kafka broker on port " + port + " did not become ready"
        + " within 60 s", last);
  }

  /** {@code 127.0.0.1:port}. */
  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  /** An admin client for this broker (close it). */
  public Admin admin() {
    return Admin.create(Map.of(
        AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers(),
        AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
        AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000));
  }

  /** Creates {@code name} with {@code partitions} partitions (replication 1) and waits for it. */
  public void createTopic(String name, int partitions) {
    try (Admin admin = admin()) {
      admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot create topic " + name + ": " + e.getCause(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  @Override
  public void close() {
    try {
      server.shutdown();
      server.awaitShutdown();
    } finally {
      deleteTree(dir);
    }
  }

  static void deleteTree(Path root) {
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp directory: best effort
    }
  }

  int controllerPort() {
    return controllerPort;
  }
}
