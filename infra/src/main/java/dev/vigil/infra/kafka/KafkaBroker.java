package dev.vigil.infra.kafka;

import dev.vigil.infra.Ports;
import dev.vigil.infra.tls.TestCertificates;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
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
 * explicitly, an authorizer that allows everything without an ACL (so that an ACL can deny one
 * operation). The log directory is a fresh temp folder, deleted on {@link #close()}.
 *
 * <p>{@link #stop()} and {@link #restart()} take the broker down and bring it back on the same
 * ports, log directory and cluster id (a broker restart as production sees it: the data, the
 * committed offsets and the transaction state survive; clients reconnect).
 *
 * <p>By default clients connect in plaintext. With a {@link Security} the broker listens for
 * clients (and for itself, inter-broker) <b>only</b> on SASL_SSL (SCRAM-SHA-512 and PLAIN) or
 * only on SSL with client certificates required (mutual TLS); the controller listener stays
 * plaintext on loopback. SCRAM credentials are written into the metadata log when the storage is
 * formatted (what {@code kafka-storage format --add-scram} does), so no unauthenticated listener
 * is ever needed to create them.
 */
public final class KafkaBroker implements AutoCloseable {
  /** The mechanism of the broker's own (inter-broker) SASL connections and of {@link #admin()}. */
  public static final String SCRAM = "SCRAM-SHA-512";

  /** How clients reach the broker. */
  public enum Protocol {
    PLAINTEXT,
    /** TLS (server certificate) and SASL: SCRAM-SHA-512 or PLAIN. */
    SASL_SSL,
    /** TLS with a client certificate required (mutual TLS), no SASL. */
    SSL
  }

  /**
   * A secured broker: {@code protocol} with the stores of {@code certificates}; {@code users}
   * (name → password, letters and digits) get SCRAM-SHA-512 credentials and PLAIN logins.
   */
  public record Security(Protocol protocol, TestCertificates certificates,
      Map<String, String> users) {
    public Security {
      users = Map.copyOf(users);
    }

    public static Security saslSsl(TestCertificates certificates, Map<String, String> users) {
      return new Security(Protocol.SASL_SSL, certificates, users);
    }

    public static Security mutualTls(TestCertificates certificates) {
      return new Security(Protocol.SSL, certificates, Map.of());
    }
  }

  /** The broker's own user (inter-broker and {@link #admin()}) with SASL_SSL. */
  static final String BROKER_USER = "broker";

  private final int port;
  private final int controllerPort;
  private final Path dir;
  private final Properties props;
  private final Security security;
  private final String brokerPassword;
  /** The running server; null while {@link #stop() stopped}. Guarded by this. */
  private KafkaRaftServer server;

  private KafkaBroker(int port, int controllerPort, Path dir, Properties props,
      KafkaRaftServer server, Security security, String brokerPassword) {
    this.port = port;
    this.controllerPort = controllerPort;
    this.dir = dir;
    this.props = props;
    this.server = server;
    this.security = security;
    this.brokerPassword = brokerPassword;
  }

  /** Starts a broker in this JVM on a free port. */
  public static KafkaBroker start() {
    return start(Ports.free());
  }

  /** Starts a broker in this JVM on {@code port} (fails fast, naming it, if it is taken). */
  public static KafkaBroker start(int port) {
    return start(port, null);
  }

  /** Starts a secured broker in this JVM on a free port (see {@link Security}). */
  public static KafkaBroker start(Security security) {
    return start(Ports.free(), security);
  }

  private static KafkaBroker start(int port, Security security) {
    Ports.ensureFree(port, "the Kafka broker", "--kafka-port");
    int controllerPort = Ports.free();
    Path dir;
    try {
      dir = Files.createTempDirectory("vigil-kafka-");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot create the broker's log directory", e);
    }
    Properties props = properties(port, controllerPort, dir.resolve("logs"));
    String brokerPassword = null;
    List<String> scram = new ArrayList<>();
    if (security != null) {
      brokerPassword = TestCertificates.randomPassword();
      secure(props, port, controllerPort, security, brokerPassword);
      if (security.protocol() == Protocol.SASL_SSL) {
        Map<String, String> users = new LinkedHashMap<>(security.users());
        users.put(BROKER_USER, brokerPassword);
        users.forEach((user, password) -> {
          scram.add("--add-scram");
          scram.add(SCRAM + "=[name=" + user + ",password=" + password + "]");
        });
      }
    }
    try {
      format(props, dir, scram);
    } catch (RuntimeException e) {
      deleteTree(dir);
      throw e;
    }
    KafkaRaftServer server;
    try {
      server = startServer(props, port);
    } catch (RuntimeException e) {
      deleteTree(dir);
      throw e;
    }
    KafkaBroker broker =
        new KafkaBroker(port, controllerPort, dir, props, server, security, brokerPassword);
    broker.awaitReady();
    return broker;
  }

  private static KafkaRaftServer startServer(Properties props, int port) {
    KafkaRaftServer server = new KafkaRaftServer(KafkaConfig.fromProps(props, false), Time.SYSTEM);
    try {
      server.startup();
    } catch (RuntimeException e) {
      throw new IllegalStateException("the Kafka broker did not start on port " + port + ": " + e, e);
    }
    return server;
  }

  /**
   * Stops the broker (a clean shutdown, as a rolling restart does) and keeps its log directory;
   * {@link #restart()} brings it back. Clients see the broker gone: connections refused.
   */
  public synchronized void stop() {
    if (server == null) {
      return;
    }
    KafkaRaftServer s = server;
    server = null;
    s.shutdown();
    s.awaitShutdown();
  }

  /**
   * Starts a {@link #stop() stopped} broker again on the same ports and log directory, and waits
   * until it answers (up to 60 s). Topics, records, committed offsets and open transactions are
   * as they were at the stop.
   */
  public synchronized void restart() {
    if (server != null) {
      throw new IllegalStateException("the Kafka broker on port " + port + " is running");
    }
    Ports.ensureFree(port, "the Kafka broker", "--kafka-port");
    server = startServer(props, port);
    awaitReady();
  }

  /** Whether the broker is running (not {@link #stop() stopped} or closed). */
  public synchronized boolean isRunning() {
    return server != null;
  }

  /** Replaces the plaintext client listener of {@code p} by {@code security}'s only. */
  private static void secure(Properties p, int port, int controllerPort, Security security,
      String brokerPassword) {
    String name = security.protocol().name();
    String listener = name + "://127.0.0.1:" + port;
    p.setProperty("listeners", listener + ",CONTROLLER://127.0.0.1:" + controllerPort);
    p.setProperty("advertised.listeners", listener);
    p.setProperty("listener.security.protocol.map", name + ":" + name + ",CONTROLLER:PLAINTEXT");
    p.setProperty("inter.broker.listener.name", name);
    TestCertificates certs = security.certificates();
    p.setProperty("ssl.keystore.location", certs.serverKeystore().toString());
    p.setProperty("ssl.keystore.password", certs.password());
    p.setProperty("ssl.key.password", certs.password());
    p.setProperty("ssl.keystore.type", TestCertificates.TYPE);
    p.setProperty("ssl.truststore.location", certs.truststore().toString());
    p.setProperty("ssl.truststore.password", certs.password());
    p.setProperty("ssl.truststore.type", TestCertificates.TYPE);
    if (security.protocol() == Protocol.SSL) {
      p.setProperty("ssl.client.auth", "required");
      return;
    }
    String prefix = "listener.name." + name.toLowerCase(java.util.Locale.ROOT) + ".";
    p.setProperty("sasl.enabled.mechanisms", SCRAM + ",PLAIN");
    p.setProperty("sasl.mechanism.inter.broker.protocol", SCRAM);
    p.setProperty(prefix + "scram-sha-512.sasl.jaas.config",
        scramJaas(BROKER_USER, brokerPassword));
    StringBuilder plain = new StringBuilder(
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\""
            + BROKER_USER + "\" password=\"" + brokerPassword + "\"");
    plain.append(" user_").append(BROKER_USER).append("=\"").append(brokerPassword).append('"');
    security.users().forEach((user, password) ->
        plain.append(" user_").append(user).append("=\"").append(password).append('"'));
    p.setProperty(prefix + "plain.sasl.jaas.config", plain.append(';').toString());
  }

  /** The client JAAS config of a SCRAM login. */
  public static String scramJaas(String user, String password) {
    return "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
        + user + "\" password=\"" + password + "\";";
  }

  /**
   * The client properties to reach this broker, without bootstrap servers: none for plaintext;
   * TLS with the test truststore, and for SASL_SSL the SCRAM-SHA-512 login of {@code user} with
   * {@code password} (ignored for mutual TLS, where the client certificate is the identity).
   */
  public Map<String, Object> clientProperties(String user, String password) {
    Map<String, Object> c = new HashMap<>();
    if (security == null) {
      return c;
    }
    TestCertificates certs = security.certificates();
    c.put("security.protocol", security.protocol().name());
    c.put("ssl.truststore.location", certs.truststore().toString());
    c.put("ssl.truststore.password", certs.password());
    c.put("ssl.truststore.type", TestCertificates.TYPE);
    if (security.protocol() == Protocol.SSL) {
      c.put("ssl.keystore.location", certs.clientKeystore().toString());
      c.put("ssl.keystore.password", certs.password());
      c.put("ssl.key.password", certs.password());
      c.put("ssl.keystore.type", TestCertificates.TYPE);
    } else {
      c.put("sasl.mechanism", SCRAM);
      c.put("sasl.jaas.config", scramJaas(user, password));
    }
    return c;
  }

  /** {@link #clientProperties(String, String)} of the broker's own user (tests' set-up). */
  public Map<String, Object> adminProperties() {
    return clientProperties(BROKER_USER, brokerPassword);
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
        // ACLs are enforced where there are some and everything else is allowed, so a test can
        // refuse one operation on one topic for a while (a revoked permission) and nothing else
        Map.entry("authorizer.class.name",
            "org.apache.kafka.metadata.authorizer.StandardAuthorizer"),
        Map.entry("allow.everyone.if.no.acl.found", "true"),
        Map.entry("num.partitions", "1"),
        Map.entry("log.segment.bytes", String.valueOf(16 * 1024 * 1024)),
        Map.entry("transaction.max.timeout.ms", String.valueOf(15 * 60 * 1000))));
    return p;
  }

  private static void format(Properties props, Path dir, List<String> scram) {
    Path config = dir.resolve("server.properties");
    try (OutputStream out = Files.newOutputStream(config)) {
      props.store(out, "vigil single-node KRaft broker");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    ByteArrayOutputStream output = new ByteArrayOutputStream();
    List<String> args = new ArrayList<>(
        List.of("format", "-t", Uuid.randomUuid().toString(), "-c", config.toString()));
    args.addAll(scram);
    int exit = StorageTool.execute(
        args.toArray(String[]::new), new PrintStream(output, true, StandardCharsets.UTF_8));
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
    Map<String, Object> c = new HashMap<>(adminProperties());
    c.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers());
    c.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000);
    c.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 15_000);
    return Admin.create(c);
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
  public synchronized void close() {
    try {
      stop();
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
