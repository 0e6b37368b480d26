package dev.vigil.localenv;

import dev.vigil.infra.Ports;
import dev.vigil.infra.kafka.KafkaBrokerProcess;
import dev.vigil.infra.registry.ApicurioRegistry;
import dev.vigil.localenv.cluster.StandaloneCluster;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestOptions;
import org.apache.flink.runtime.minicluster.MiniCluster;
import org.apache.flink.runtime.minicluster.MiniClusterConfiguration;

/**
 * What the demo starts, on 127.0.0.1 only, and stops again: the Kafka broker JVM, the Apicurio
 * registry JVM and the Flink MiniCluster or, with {@code --cluster}, the {@link StandaloneCluster}
 * processes. {@link #close()} stops whatever was started, in reverse
 * order, once, whether called at the end, from the shutdown hook (Ctrl-C) or after an error.
 */
final class LocalServices implements AutoCloseable {
  private final Deque<AutoCloseable> started = new ArrayDeque<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Thread hook = new Thread(this::close, "vigil-demo-stop");
  KafkaBrokerProcess broker;
  ApicurioRegistry registry;
  MiniCluster flink;
  StandaloneCluster cluster;
  /** Task managers started so far (MiniCluster keeps terminated ones in its list). */
  private int taskManagers;

  /** {@code cleanup} runs last on {@link #close()} (the run's work directory). */
  LocalServices(AutoCloseable cleanup) {
    started.push(cleanup);
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /** Fails fast, naming the port and its option, if one is taken: before anything starts. */
  void checkPorts(int kafkaPort, int registryPort, int webPort) {
    Ports.ensureFree(kafkaPort, "the Kafka broker", "--kafka-port");
    Ports.ensureFree(registryPort, "the schema registry", "--registry-port");
    Ports.ensureFree(webPort, "the Flink web UI", "--web-port");
  }

  /** Starts both JVMs at once and waits for both. */
  void startKafkaAndRegistry(int kafkaPort, int registryPort, String brokerHeap) {
    CompletableFuture<KafkaBrokerProcess> b =
        CompletableFuture.supplyAsync(() -> KafkaBrokerProcess.start(kafkaPort, brokerHeap));
    CompletableFuture<ApicurioRegistry> r =
        CompletableFuture.supplyAsync(() -> ApicurioRegistry.start(registryPort));
    RuntimeException failure = null;
    try {
      broker = b.join();
      register(broker);
    } catch (CompletionException e) {
      failure = unwrap(e);
    }
    try {
      registry = r.join();
      register(registry);
    } catch (CompletionException e) {
      if (failure == null) {
        failure = unwrap(e);
      }
    }
    if (failure != null) {
      throw failure;
    }
  }

  /**
   * A MiniCluster with one task manager of {@code slots} slots, RocksDB, checkpoints under
   * {@code checkpoints}, a fixed-delay restart strategy, the REST API and web UI on {@code
   * 127.0.0.1:webPort}.
   */
  void startFlink(int webPort, int slots, Path checkpoints) throws Exception {
    Configuration c = new Configuration();
    c.set(RestOptions.BIND_ADDRESS, "127.0.0.1");
    c.set(RestOptions.ADDRESS, "127.0.0.1");
    c.set(RestOptions.PORT, webPort);
    c.setString("state.backend.type", "rocksdb");
    c.setString("execution.checkpointing.dir", checkpoints.toUri().toString());
    c.setString("execution.checkpointing.num-retained", "1");
    c.setString("restart-strategy.type", "fixed-delay");
    c.setString("restart-strategy.fixed-delay.attempts", "50");
    c.setString("restart-strategy.fixed-delay.delay", "1 s");
    // A killed task manager is noticed by its closed connection, not by heartbeats; 30 s (not
    // 10) so that a machine loaded by other work does not time a live one out (seen at load 20,
    // the job restarting every 10-20 s).
    c.setString("heartbeat.timeout", "30 s");
    MiniCluster cluster = new MiniCluster(new MiniClusterConfiguration.Builder()
        .setConfiguration(c)
        .setNumTaskManagers(1)
        .setNumSlotsPerTaskManager(slots)
        .setCommonBindAddress("127.0.0.1")
        .build());
    cluster.start();
    flink = cluster;
    taskManagers = 1;
    register(() -> cluster.closeAsync().get(60, TimeUnit.SECONDS));
  }

  /**
   * A standalone cluster of its own JobManager and TaskManager JVMs; stopped (and waited for, so
   * that the run's folder can be deleted after it) on {@link #close()}.
   */
  void startCluster(StandaloneCluster.Options options) {
    StandaloneCluster c = StandaloneCluster.start(options);
    cluster = c;
    register(() -> {
      c.close();
      List<StandaloneCluster.Node> all = new ArrayList<>(c.taskManagers());
      all.add(c.jobManager());
      for (StandaloneCluster.Node n : all) {
        n.process().waitFor(20, TimeUnit.SECONDS);
      }
    });
  }

  /** Terminates the live task manager (its tasks fail) and starts a fresh one. */
  void killTaskManager() throws Exception {
    flink.terminateTaskManager(taskManagers - 1).get(60, TimeUnit.SECONDS);
    flink.startTaskManager();
    taskManagers++;
  }

  String webUrl() throws Exception {
    if (cluster != null) {
      return cluster.restUrl();
    }
    return flink.getRestAddress().get(10, TimeUnit.SECONDS).toString();
  }

  private void register(AutoCloseable c) {
    synchronized (this) {
      if (!closed.get()) {
        started.push(c);
        return;
      }
    }
    // stopped meanwhile (Ctrl-C during start-up): this one too
    try {
      c.close();
    } catch (Exception e) {
      System.err.println("vigil demo: while stopping: " + e);
    }
  }

  /** Whether {@link #close()} has begun (e.g. Ctrl-C): what fails after it is the stopping. */
  boolean isClosed() {
    return closed.get();
  }

  @Override
  public void close() {
    if (!closed.compareAndSet(false, true)) {
      return;
    }
    if (Thread.currentThread() == hook) {
      System.err.println("vigil demo: stopping everything it started ...");
    }
    if (Thread.currentThread() != hook) {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        // the JVM is exiting: the hook runs or has run
      }
    }
    AutoCloseable c;
    while ((c = poll()) != null) {
      try {
        c.close();
      } catch (Exception e) {
        System.err.println("vigil demo: while stopping: " + e);
      }
    }
  }

  private synchronized AutoCloseable poll() {
    return started.poll();
  }

  private static RuntimeException unwrap(CompletionException e) {
    return e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
  }
}
