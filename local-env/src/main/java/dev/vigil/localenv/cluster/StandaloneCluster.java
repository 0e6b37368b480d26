package dev.vigil.localenv.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.vigil.infra.Ports;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.GlobalConfiguration;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessSpec;
import org.apache.flink.runtime.clusterframework.TaskExecutorProcessUtils;
import org.apache.flink.runtime.jobmanager.JobManagerProcessSpec;
import org.apache.flink.runtime.jobmanager.JobManagerProcessUtils;
import org.apache.flink.runtime.util.config.memory.ProcessMemoryUtils;

/**
 * A Flink standalone session cluster from the Flink jars (no distribution tarball): one
 * JobManager JVM ({@value #JM_MAIN}: REST API and web UI) and N TaskManager JVMs ({@value
 * #TM_MAIN}), each its own process, bound to 127.0.0.1 only.
 *
 * <p>The processes run on the classpath that the {@code cluster-lib} module resolves (Flink, its
 * RocksDB backend, the web UI, the Prometheus reporter, Log4j; nothing of Vigil), with the JVM
 * memory flags and the memory options that Flink's own start scripts compute ({@code
 * BashJavaUtils}), from a {@code config.yaml} written into {@code <work dir>/conf}. Each process
 * logs to {@code <work dir>/log/<name>.log} (and its stdout/stderr to {@code <name>.out}); the pids
 * go to {@code <work dir>/cluster.json}, where {@link #stop(Path)} finds them.
 *
 * <p>Every process is stopped on {@link #close()}, on an error during {@link #start} (a partial
 * start is cleaned up), on this JVM's exit (a shutdown hook, unless {@link #detach()}ed), and when
 * this JVM dies without running its hooks (each process watches its parent: {@link ParentWatch}).
 */
public final class StandaloneCluster implements AutoCloseable {
  public static final String JM_MAIN =
      "org.apache.flink.runtime.entrypoint.StandaloneSessionClusterEntrypoint";
  public static final String TM_MAIN = "org.apache.flink.runtime.taskexecutor.TaskManagerRunner";
  /** The file listing the cluster's classpath (cluster-lib/target/classpath.txt). */
  public static final String CLASSPATH_PROPERTY = "vigil.cluster.classpath";
  public static final String PID_FILE = "cluster.json";
  /** On every process's command line: how {@link #stop(Path)} tells its processes from others. */
  static final String MARKER_PROPERTY = "vigil.cluster.dir";
  /** Flink reflects into java.base on Java 17 (the list of ./vigil, plus Flink's own extras). */
  static final List<String> JAVA_17_FLAGS = List.of(
      "--add-opens", "java.base/java.lang=ALL-UNNAMED",
      "--add-opens", "java.base/java.util=ALL-UNNAMED",
      "--add-opens", "java.base/java.lang.reflect=ALL-UNNAMED",
      "--add-opens", "java.base/java.io=ALL-UNNAMED",
      "--add-opens", "java.base/java.nio=ALL-UNNAMED",
      "--add-opens", "java.base/sun.nio.ch=ALL-UNNAMED",
      "--add-opens", "java.base/java.net=ALL-UNNAMED",
      "--add-opens", "java.base/java.time=ALL-UNNAMED",
      "--add-opens", "java.base/java.text=ALL-UNNAMED",
      "--add-opens", "java.base/java.util.concurrent=ALL-UNNAMED",
      "--add-opens", "java.base/java.util.concurrent.atomic=ALL-UNNAMED",
      "--add-opens", "java.base/java.util.concurrent.locks=ALL-UNNAMED",
      "--add-exports", "java.base/sun.net.util=ALL-UNNAMED");
  private static final Duration START_TIMEOUT = Duration.ofSeconds(90);
  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * What to start. Sizes for a 2-core, 24 GiB machine by default: two TaskManagers of 2 slots and
   * 1536 MiB each (task heap about 290 MiB, RocksDB managed memory about 435 MiB), a 1 GiB
   * JobManager.
   *
   * @param restPort the REST API and web UI; 0 picks a free port
   * @param jvmOptions extra options for every process's JVM
   * @param config extra config.yaml keys (they win over the generated ones)
   * @param stopWithThisJvm the processes exit when this JVM dies, even by SIGKILL ({@link
   *     ParentWatch}); false: they run in their own session and outlive it once {@link
   *     #detach()}ed, as after {@code vigil cluster start}
   */
  public record Options(int taskManagers, int slots, String tmMemory, String jmMemory,
      int restPort, Path workDir, List<String> jvmOptions, Map<String, String> config,
      boolean stopWithThisJvm) {
    public static final int DEFAULT_TASK_MANAGERS = 2;
    public static final int DEFAULT_SLOTS = 2;
    public static final String DEFAULT_TM_MEMORY = "1536m";
    public static final String DEFAULT_JM_MEMORY = "1g";

    public Options {
      if (taskManagers < 0 || slots < 1) {
        throw new IllegalArgumentException("--taskmanagers must be >= 0 and --slots >= 1, not "
            + taskManagers + " and " + slots);
      }
      if (restPort < 0 || restPort > 65_535) {
        throw new IllegalArgumentException("--rest-port must be 0 (any free port) or a port, not "
            + restPort);
      }
      workDir = workDir.toAbsolutePath().normalize();
      jvmOptions = List.copyOf(jvmOptions);
      config = Map.copyOf(config);
    }

    /** The defaults, in {@code workDir}, stopped with this JVM, on a free REST port. */
    public static Options defaults(Path workDir) {
      return new Options(DEFAULT_TASK_MANAGERS, DEFAULT_SLOTS, DEFAULT_TM_MEMORY,
          DEFAULT_JM_MEMORY, 0, workDir, List.of(), Map.of(), true);
    }

    public Options withTaskManagers(int n) {
      return new Options(n, slots, tmMemory, jmMemory, restPort, workDir, jvmOptions, config,
          stopWithThisJvm);
    }

    public Options withConfig(Map<String, String> extra) {
      Map<String, String> c = new LinkedHashMap<>(config);
      c.putAll(extra);
      return new Options(taskManagers, slots, tmMemory, jmMemory, restPort, workDir, jvmOptions,
          c, stopWithThisJvm);
    }

    public Options withJvmOptions(List<String> options) {
      return new Options(taskManagers, slots, tmMemory, jmMemory, restPort, workDir, options,
          config, stopWithThisJvm);
    }
  }

  /** One JobManager or TaskManager process. */
  public record Node(String name, Process process, int prometheusPort, Path log) {
    public long pid() {
      return process.pid();
    }

    /** {@code http://127.0.0.1:<port>/metrics}: the Prometheus reporter of this process. */
    public String metricsUrl() {
      return "http://127.0.0.1:" + prometheusPort + "/metrics";
    }
  }

  private final Options options;
  private final List<String> classpath;
  private final Path conf;
  private final Path logs;
  private final int restPort;
  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(5)).build();
  private final List<Node> taskManagers = new ArrayList<>();
  private final AtomicBoolean closed = new AtomicBoolean();
  private final Thread hook;
  private Node jobManager;
  private int nextTaskManager;
  private Configuration flinkConfig;
  private volatile boolean detached;

  private StandaloneCluster(Options options, List<String> classpath, int restPort) {
    this.options = options;
    this.classpath = classpath;
    this.conf = options.workDir().resolve("conf");
    this.logs = options.workDir().resolve("log");
    this.restPort = restPort;
    this.hook = new Thread(this::close, "vigil-cluster-stop");
  }

  /**
   * Starts the JobManager, waits for its REST API, starts the TaskManagers and waits until they
   * have registered. On any failure, whatever was started is stopped before the exception.
   */
  public static StandaloneCluster start(Options options) {
    List<String> classpath = clusterClasspath();
    Path pidFile = options.workDir().resolve(PID_FILE);
    if (Files.exists(pidFile) && !liveProcesses(options.workDir()).isEmpty()) {
      throw new ClusterException("a cluster started from " + options.workDir() + " is still"
          + " running (pids " + liveProcesses(options.workDir()) + "): stop it with `vigil"
          + " cluster stop --work-dir " + options.workDir() + "`, or use another --work-dir");
    }
    int restPort = options.restPort();
    if (restPort == 0) {
      restPort = Ports.free();
    } else {
      try {
        Ports.ensureFree(restPort, "the Flink REST API", "--rest-port");
      } catch (IllegalStateException e) {
        throw new ClusterException(e.getMessage());
      }
    }
    StandaloneCluster cluster = new StandaloneCluster(options, classpath, restPort);
    // Also when the processes are to outlive this JVM: until detach(), Ctrl-C during the start
    // stops what has started.
    Runtime.getRuntime().addShutdownHook(cluster.hook);
    try {
      cluster.writeConfig();
      cluster.startJobManager();
      for (int i = 0; i < options.taskManagers(); i++) {
        cluster.startTaskManager();
      }
      cluster.awaitTaskManagers(options.taskManagers(), START_TIMEOUT);
      return cluster;
    } catch (RuntimeException e) {
      cluster.close();
      throw e;
    }
  }

  /** The JVM flags and classpath file of the processes; fails naming the build step when absent. */
  static List<String> clusterClasspath() {
    String property = System.getProperty(CLASSPATH_PROPERTY);
    Path file = property != null ? Path.of(property) : repositoryClasspathFile();
    if (file == null || !Files.isRegularFile(file)) {
      throw new ClusterException("the cluster's classpath file "
          + (file == null ? "cluster-lib/target/classpath.txt" : file) + " does not exist: build"
          + " it with `./mvnw -B -q -pl cluster-lib package` (./vigil does), or point -D"
          + CLASSPATH_PROPERTY + " at it");
    }
    try {
      String text = Files.readString(file).trim();
      List<String> entries = Arrays.stream(text.split(File.pathSeparator))
          .filter(s -> !s.isBlank()).toList();
      for (String e : entries) {
        if (!Files.exists(Path.of(e))) {
          throw new ClusterException("the cluster's classpath (" + file + ") names " + e
              + ", which does not exist: rebuild it with `./mvnw -B -q -pl cluster-lib package`");
        }
      }
      return entries;
    } catch (IOException e) {
      throw new ClusterException("cannot read the cluster's classpath file " + file + ": " + e, e);
    }
  }

  private static Path repositoryClasspathFile() {
    try {
      Path p = Path.of(StandaloneCluster.class.getProtectionDomain().getCodeSource().getLocation()
          .toURI()).toAbsolutePath();
      for (; p != null; p = p.getParent()) {
        Path f = p.resolve("cluster-lib").resolve("target").resolve("classpath.txt");
        if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("cluster-lib"))) {
          return f;
        }
      }
    } catch (Exception e) {
      // not from a file
    }
    return null;
  }

  private void writeConfig() {
    Path work = options.workDir();
    Map<String, String> c = new LinkedHashMap<>();
    c.put("jobmanager.rpc.address", "127.0.0.1");
    c.put("jobmanager.rpc.port", Integer.toString(Ports.free()));
    c.put("jobmanager.bind-host", "127.0.0.1");
    c.put("jobmanager.memory.process.size", options.jmMemory());
    c.put("taskmanager.host", "127.0.0.1");
    c.put("taskmanager.bind-host", "127.0.0.1");
    c.put("taskmanager.numberOfTaskSlots", Integer.toString(options.slots()));
    c.put("taskmanager.memory.process.size", options.tmMemory());
    c.put("rest.address", "127.0.0.1");
    c.put("rest.bind-address", "127.0.0.1");
    c.put("rest.port", Integer.toString(restPort));
    c.put("web.upload.dir", work.resolve("uploads").toString());
    c.put("web.tmpdir", work.resolve("tmp").resolve("web").toString());
    c.put("io.tmp.dirs", work.resolve("tmp").toString());
    c.put("state.backend.type", "rocksdb");
    c.put("execution.checkpointing.incremental", "true");
    // Keys per entity: RocksDB's estimate of the keys in each state, the feature stages' included
    // (as k8s/base; a lifetime entity keeps every key it has seen).
    c.put("state.backend.rocksdb.metrics.estimate-num-keys", "true");
    c.put("state.backend.rocksdb.metrics.column-family-as-variable", "true");
    c.put("execution.checkpointing.dir", work.resolve("checkpoints").toUri().toString());
    c.put("execution.checkpointing.savepoint-dir", work.resolve("savepoints").toUri().toString());
    c.put("execution.checkpointing.num-retained", "2");
    c.put("restart-strategy.type", "fixed-delay");
    c.put("restart-strategy.fixed-delay.attempts", "50");
    c.put("restart-strategy.fixed-delay.delay", "1 s");
    // A TaskManager killed with SIGKILL is noticed by failed heartbeat RPCs (2 in a row) within
    // a few seconds instead of Flink's 50 s timeout.
    c.put("heartbeat.interval", "2 s");
    c.put("heartbeat.timeout", "10 s");
    c.put("classloader.resolve-order", "child-first");
    // A job's main() runs inside the JobManager when submitted through REST: a System.exit there
    // (ScoringJob.main exits 2 on a bad argument) would end the JobManager. THROW turns it into
    // an error of the run request instead.
    c.put("cluster.intercept-user-system-exit", "THROW");
    c.put("cluster.evenly-spread-out-slots", "true");
    // The same reporter as k8s/base; each process gets its own port (-D below), the range is
    // for processes started by hand from this conf dir.
    c.put("metrics.reporter.prom.factory.class",
        "org.apache.flink.metrics.prometheus.PrometheusReporterFactory");
    c.put("metrics.reporter.prom.port", "9250-9299");
    c.putAll(options.config());
    StringBuilder yaml = new StringBuilder("# Written by vigil cluster (StandaloneCluster): Flink"
        + " 2.x config.yaml, flat keys.\n");
    c.forEach((k, v) -> yaml.append(k).append(": ").append(yamlValue(v)).append('\n'));
    String log4j = """
        # Written by vigil cluster: every process logs to the file in -Dlog.file.
        monitorInterval = 30
        rootLogger.level = INFO
        rootLogger.appenderRef.file.ref = MainAppender
        logger.pekko.name = org.apache.pekko
        logger.pekko.level = INFO
        logger.kafka.name = org.apache.kafka
        logger.kafka.level = WARN
        logger.zookeeper.name = org.apache.zookeeper
        logger.zookeeper.level = WARN
        logger.netty.name = org.jboss.netty.channel.DefaultChannelPipeline
        logger.netty.level = OFF
        appender.main.name = MainAppender
        appender.main.type = RollingFile
        appender.main.append = true
        appender.main.fileName = ${sys:log.file}
        appender.main.filePattern = ${sys:log.file}.%i
        appender.main.layout.type = PatternLayout
        appender.main.layout.pattern = %d{yyyy-MM-dd HH:mm:ss,SSS} %-5p %-60c %x - %m%n
        appender.main.policies.type = Policies
        appender.main.policies.size.type = SizeBasedTriggeringPolicy
        appender.main.policies.size.size = 100MB
        appender.main.strategy.type = DefaultRolloverStrategy
        appender.main.strategy.max = 5
        """;
    try {
      for (String d : List.of("conf", "log", "tmp", "tmp/web", "uploads", "checkpoints",
          "savepoints", "watch")) {
        Files.createDirectories(work.resolve(d));
      }
      Files.writeString(conf.resolve("config.yaml"), yaml);
      Files.writeString(conf.resolve("log4j.properties"), log4j);
      // ParentWatch alone, so that nothing else of Vigil is on the cluster's classpath.
      String name = ParentWatch.class.getName().replace('.', '/') + ".class";
      Path target = work.resolve("watch").resolve(name);
      Files.createDirectories(target.getParent());
      try (InputStream in = ParentWatch.class.getClassLoader().getResourceAsStream(name)) {
        if (in == null) {
          throw new ClusterException("cannot find " + name + " on this JVM's classpath");
        }
        Files.write(target, in.readAllBytes());
      }
    } catch (IOException e) {
      throw new ClusterException("cannot write the cluster's files under " + work + ": " + e, e);
    }
    flinkConfig = GlobalConfiguration.loadConfiguration(conf.toString());
    // The memory model, before any process starts: a size too small fails here, naming it.
    try {
      JobManagerProcessUtils.processSpecFromConfig(flinkConfig);
    } catch (RuntimeException e) {
      throw new ClusterException("the JobManager's memory (--jm-memory " + options.jmMemory()
          + ") does not work: " + e.getMessage() + "; 1g is the default");
    }
    try {
      TaskExecutorProcessUtils.processSpecFromConfig(flinkConfig);
    } catch (RuntimeException e) {
      throw new ClusterException("the TaskManagers' memory (--tm-memory " + options.tmMemory()
          + ") does not work: " + e.getMessage() + "; " + Options.DEFAULT_TM_MEMORY
          + " is the default, 1g about the least that leaves the job a task heap");
    }
  }

  private static String yamlValue(String v) {
    return v.matches("[A-Za-z0-9_./:-][A-Za-z0-9 _./:,-]*") && !v.contains(": ")
        ? v : "'" + v.replace("'", "''") + "'";
  }

  private void startJobManager() {
    JobManagerProcessSpec spec = JobManagerProcessUtils.processSpecFromConfig(flinkConfig);
    List<String> jvm = split(JobManagerProcessUtils.generateJvmParametersStr(spec, flinkConfig));
    List<String> dynamic = split(JobManagerProcessUtils.generateDynamicConfigsStr(spec));
    jobManager = launch("jobmanager", JM_MAIN, jvm, dynamic);
    awaitRest();
  }

  /** Starts one more TaskManager (e.g. the replacement of a killed one) and returns at once. */
  public synchronized Node startTaskManager() {
    TaskExecutorProcessSpec spec = TaskExecutorProcessUtils.processSpecFromConfig(flinkConfig);
    List<String> jvm = split(ProcessMemoryUtils.generateJvmParametersStr(spec));
    List<String> dynamic = new ArrayList<>(split(
        TaskExecutorProcessUtils.generateDynamicConfigsStr(spec)));
    String name = "taskmanager-" + nextTaskManager++;
    dynamic.add("-D");
    dynamic.add("taskmanager.resource-id=" + name);
    Node node = launch(name, TM_MAIN, jvm, dynamic);
    taskManagers.add(node);
    writePidFile();
    return node;
  }

  private static List<String> split(String flags) {
    return Arrays.stream(flags.trim().split("\\s+")).filter(s -> !s.isEmpty()).toList();
  }

  private synchronized Node launch(String name, String main, List<String> memoryFlags,
      List<String> dynamic) {
    if (closed.get()) {
      throw new ClusterException("the cluster in " + options.workDir() + " is stopped");
    }
    int prometheusPort = Ports.free();
    Path log = logs.resolve(name + ".log");
    List<String> command = new ArrayList<>();
    if (!options.stopWithThisJvm() && Files.isExecutable(Path.of("/usr/bin/setsid"))) {
      // Its own session: a detached cluster does not get the terminal's signals (Ctrl-C, hang-up).
      command.add("/usr/bin/setsid");
    }
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(JAVA_17_FLAGS);
    command.addAll(memoryFlags);
    command.addAll(options.jvmOptions());
    command.add("-D" + MARKER_PROPERTY + "=" + options.workDir());
    command.add("-Dlog.file=" + log);
    command.add("-Dlog4j.configurationFile=" + conf.resolve("log4j.properties").toUri());
    command.add("-cp");
    command.add(options.workDir().resolve("watch") + File.pathSeparator
        + String.join(File.pathSeparator, classpath));
    command.add(ParentWatch.class.getName());
    command.add(options.stopWithThisJvm() ? Long.toString(ProcessHandle.current().pid()) : "0");
    command.add(main);
    command.add("--configDir");
    command.add(conf.toString());
    command.addAll(dynamic);
    command.add("-D");
    command.add("metrics.reporter.prom.port=" + prometheusPort);
    Path out = logs.resolve(name + ".out");
    try {
      Process p = new ProcessBuilder(command)
          .directory(options.workDir().toFile())
          .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")))
          .redirectOutput(out.toFile())
          .redirectErrorStream(true)
          .start();
      return new Node(name, p, prometheusPort, log);
    } catch (IOException e) {
      throw new ClusterException("cannot start the " + name + " JVM (" + command.get(0) + "): "
          + e, e);
    }
  }

  private void awaitRest() {
    long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      if (!jobManager.process().isAlive()) {
        throw new ClusterException("the JobManager exited (code " + jobManager.process().exitValue()
            + ") before its REST API answered; " + tail(jobManager));
      }
      if (restGet("/overview").isPresent()) {
        return;
      }
      pause(200);
    }
    throw new ClusterException("the JobManager's REST API at " + restUrl() + " did not answer"
        + " within " + START_TIMEOUT.toSeconds() + " s; " + tail(jobManager));
  }

  /** {@link #awaitTaskManagers(int, Duration)} with the start timeout (90 s). */
  public void awaitTaskManagers(int n) {
    awaitTaskManagers(n, START_TIMEOUT);
  }

  /**
   * Waits until {@code n} TaskManagers of live processes of this cluster have registered with the
   * JobManager (REST {@code /taskmanagers}); killed ones do not count even while the JobManager
   * still lists them.
   */
  public void awaitTaskManagers(int n, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Set<String> registered = Set.of();
    while (System.nanoTime() < deadline) {
      for (Node tm : taskManagers()) {
        if (!tm.process().isAlive()) {
          throw new ClusterException(tm.name() + " exited (code " + tm.process().exitValue()
              + ") before it registered; " + tail(tm));
        }
      }
      registered = registeredTaskManagers();
      Set<String> live = new HashSet<>();
      taskManagers().forEach(t -> live.add(t.name()));
      live.retainAll(registered);
      if (live.size() >= n) {
        return;
      }
      pause(200);
    }
    throw new ClusterException(n + " TaskManagers did not register within " + timeout.toSeconds()
        + " s (registered: " + registered + "); their logs are under " + logs);
  }

  /** The resource ids the JobManager lists under /taskmanagers now. */
  public Set<String> registeredTaskManagers() {
    Set<String> ids = new HashSet<>();
    restGet("/taskmanagers").ifPresent(j -> j.path("taskmanagers")
        .forEach(t -> ids.add(t.path("id").asText())));
    return ids;
  }

  private Optional<JsonNode> restGet(String path) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(restUrl() + path))
          .timeout(Duration.ofSeconds(5)).GET().build(), HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? Optional.of(JSON.readTree(r.body())) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ClusterException("interrupted while calling " + restUrl() + path);
    }
  }

  /** SIGKILLs TaskManager {@code i} of {@link #taskManagers()} and waits until it has exited. */
  public synchronized Node killTaskManager(int i) {
    Node tm = taskManagers.get(i);
    tm.process().destroyForcibly();
    try {
      if (!tm.process().waitFor(30, TimeUnit.SECONDS)) {
        throw new ClusterException(tm.name() + " (pid " + tm.pid() + ") did not exit within 30 s"
            + " of SIGKILL");
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ClusterException("interrupted while killing " + tm.name());
    }
    taskManagers.remove(i);
    writePidFile();
    return tm;
  }

  /**
   * The index in {@link #taskManagers()} of the first live TaskManager whose slots hold tasks
   * (REST {@code /taskmanagers}: slots minus free slots), or -1 if none does.
   */
  public int taskManagerWithTasks() {
    Map<String, Integer> used = new LinkedHashMap<>();
    restGet("/taskmanagers").ifPresent(j -> j.path("taskmanagers").forEach(t -> used.put(
        t.path("id").asText(), t.path("slotsNumber").asInt() - t.path("freeSlots").asInt())));
    List<Node> nodes = taskManagers();
    for (int i = 0; i < nodes.size(); i++) {
      if (nodes.get(i).process().isAlive() && used.getOrDefault(nodes.get(i).name(), 0) > 0) {
        return i;
      }
    }
    return -1;
  }

  /** The live TaskManager processes this cluster started, oldest first. */
  public synchronized List<Node> taskManagers() {
    return List.copyOf(taskManagers);
  }

  public Node jobManager() {
    return jobManager;
  }

  /** {@code http://127.0.0.1:<rest port>}: the REST API and the web UI. */
  public String restUrl() {
    return "http://127.0.0.1:" + restPort;
  }

  public Path workDir() {
    return options.workDir();
  }

  public Path logDir() {
    return logs;
  }

  /** Leaves the processes running after this JVM exits ({@link #stop(Path)} stops them). */
  public void detach() {
    detached = true;
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException | IllegalArgumentException e) {
      // exiting, or never registered
    }
  }

  private synchronized void writePidFile() {
    ObjectNode root = JSON.createObjectNode();
    root.put("restUrl", restUrl());
    root.put("workDir", options.workDir().toString());
    ArrayNode processes = root.putArray("processes");
    List<Node> all = new ArrayList<>();
    if (jobManager != null) {
      all.add(jobManager);
    }
    all.addAll(taskManagers);
    for (Node n : all) {
      processes.addObject().put("name", n.name()).put("pid", n.pid())
          .put("prometheusPort", n.prometheusPort()).put("log", n.log().toString());
    }
    try {
      Files.writeString(options.workDir().resolve(PID_FILE),
          JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + options.workDir().resolve(PID_FILE), e);
    }
  }

  /** Stops every process (TaskManagers first): SIGTERM, then SIGKILL after 15 s. Idempotent. */
  @Override
  public void close() {
    if (!closed.compareAndSet(false, true) || detached) {
      return;
    }
    if (Thread.currentThread() != hook) {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException | IllegalArgumentException e) {
        // exiting, or never registered
      }
    }
    List<ProcessHandle> all = new ArrayList<>();
    synchronized (this) {
      taskManagers.forEach(t -> all.add(t.process().toHandle()));
      if (jobManager != null) {
        all.add(jobManager.process().toHandle());
      }
    }
    terminate(all);
    try {
      Files.deleteIfExists(options.workDir().resolve(PID_FILE));
    } catch (IOException e) {
      // the processes are gone; a stale file is checked for liveness on the next start
    }
  }

  private static void terminate(List<ProcessHandle> processes) {
    processes.forEach(ProcessHandle::destroy);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
    for (ProcessHandle p : processes) {
      try {
        p.onExit().get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (Exception e) {
        p.destroyForcibly();
        try {
          p.onExit().get(5, TimeUnit.SECONDS);
        } catch (Exception ignored) {
          // reported by the caller's check of what is still alive
        }
      }
    }
  }

  /** A process recorded in a work dir's pid file. */
  public record Recorded(String name, long pid, int prometheusPort, Path log, boolean alive) {}

  /** What the pid file of {@code workDir} records (empty when there is none). */
  public static List<Recorded> recorded(Path workDir) {
    Path file = workDir.resolve(PID_FILE);
    if (!Files.isRegularFile(file)) {
      return List.of();
    }
    List<Recorded> out = new ArrayList<>();
    try {
      for (JsonNode p : JSON.readTree(file.toFile()).path("processes")) {
        long pid = p.path("pid").asLong();
        out.add(new Recorded(p.path("name").asText(), pid, p.path("prometheusPort").asInt(),
            Path.of(p.path("log").asText()), ours(pid, workDir).isPresent()));
      }
    } catch (IOException e) {
      throw new ClusterException("cannot read the pid file " + file + ": " + e
          + "; delete it if no cluster runs from " + workDir, e);
    }
    return out;
  }

  /** The REST URL the pid file of {@code workDir} records, if any. */
  public static Optional<String> recordedRestUrl(Path workDir) {
    Path file = workDir.resolve(PID_FILE);
    try {
      return Files.isRegularFile(file)
          ? Optional.of(JSON.readTree(file.toFile()).path("restUrl").asText()) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty();
    }
  }

  private static List<Long> liveProcesses(Path workDir) {
    return recorded(workDir).stream().filter(Recorded::alive).map(Recorded::pid).toList();
  }

  /** The process {@code pid} if it is alive and one of this work dir's (its command line says). */
  private static Optional<ProcessHandle> ours(long pid, Path workDir) {
    String marker = "-D" + MARKER_PROPERTY + "=" + workDir.toAbsolutePath().normalize();
    return ProcessHandle.of(pid).filter(ProcessHandle::isAlive)
        .filter(h -> arguments(h).contains(marker));
  }

  /**
   * A process's arguments: from /proc on Linux (the JDK's ProcessHandle.Info gives none for a
   * process this JVM did not start, and cuts the command line at 4 KiB), else the JDK's view.
   */
  private static List<String> arguments(ProcessHandle h) {
    Path cmdline = Path.of("/proc", Long.toString(h.pid()), "cmdline");
    try {
      if (Files.isReadable(cmdline)) {
        return Arrays.asList(Files.readString(cmdline, StandardCharsets.UTF_8).split("\0"));
      }
    } catch (IOException e) {
      // gone meanwhile, or not readable: the JDK's view below
    }
    return h.info().arguments().map(Arrays::asList)
        .orElseGet(() -> Arrays.asList(h.info().commandLine().orElse("").split(" ")));
  }

  /**
   * Stops the processes that the pid file of {@code workDir} records (only those whose command
   * line names this work dir: a recycled pid is left alone) and deletes the file. Returns the
   * processes stopped.
   */
  public static List<Recorded> stop(Path workDir) {
    Path dir = workDir.toAbsolutePath().normalize();
    List<Recorded> recorded = recorded(dir);
    List<ProcessHandle> handles = new ArrayList<>();
    List<Recorded> stopped = new ArrayList<>();
    // TaskManagers first, as close() does.
    for (int i = recorded.size() - 1; i >= 0; i--) {
      Recorded r = recorded.get(i);
      Optional<ProcessHandle> h = ours(r.pid(), dir);
      if (h.isPresent()) {
        handles.add(h.get());
        stopped.add(r);
      }
    }
    terminate(handles);
    for (ProcessHandle h : handles) {
      if (h.isAlive()) {
        throw new ClusterException("pid " + h.pid() + " is still alive after SIGTERM and SIGKILL;"
            + " stop it by hand (kill -9 " + h.pid() + ")");
      }
    }
    try {
      Files.deleteIfExists(dir.resolve(PID_FILE));
    } catch (IOException e) {
      throw new ClusterException("cannot delete " + dir.resolve(PID_FILE) + ": " + e, e);
    }
    return stopped;
  }

  /** The last lines of a process's log and stdout, for an error message. */
  public static String tail(Node node) {
    StringBuilder b = new StringBuilder();
    for (Path p : List.of(node.log(), node.log().resolveSibling(node.name() + ".out"))) {
      try {
        List<String> lines = Files.readAllLines(p, StandardCharsets.UTF_8);
        b.append("the end of ").append(p).append(":\n")
            .append(String.join("\n", lines.subList(Math.max(0, lines.size() - 25), lines.size())))
            .append('\n');
      } catch (IOException e) {
        b.append(p).append(" cannot be read (").append(e.getMessage()).append(")\n");
      }
    }
    return b.toString();
  }

  private static void pause(long millis) {
    try {
      Thread.sleep(millis); // polling a process that is starting
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ClusterException("interrupted while waiting for the cluster");
    }
  }
}
