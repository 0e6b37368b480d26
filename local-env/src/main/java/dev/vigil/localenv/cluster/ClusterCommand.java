package dev.vigil.localenv.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vigil cluster start|status|stop}: a Flink standalone session cluster on 127.0.0.1. */
@Command(
    name = "cluster",
    mixinStandardHelpOptions = true,
    description = {
      "A Flink standalone session cluster on 127.0.0.1: one JobManager (REST API and web UI) and"
          + " N TaskManagers, each its own JVM, from the Flink jars (docs/cluster.md)."
    },
    subcommands = {ClusterCommand.Start.class, ClusterCommand.Status.class,
        ClusterCommand.Stop.class})
public final class ClusterCommand implements Runnable {
  @Spec CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getErr());
  }

  /** The work dir option every subcommand shares. */
  static final class WorkDir {
    @Option(names = "--work-dir", paramLabel = "DIR",
        description = "The cluster's folder: conf/, log/, checkpoints/, savepoints/ and the pid"
            + " file cluster.json. Default: .vigil/cluster/ in the repository, else"
            + " ~/.vigil/cluster.")
    Path dir;

    Path resolve() {
      if (dir != null) {
        return dir.toAbsolutePath().normalize();
      }
      Path repo = repository();
      return repo != null ? repo.resolve(".vigil").resolve("cluster")
          : Path.of(System.getProperty("user.home"), ".vigil", "cluster");
    }
  }

  @Command(name = "start", mixinStandardHelpOptions = true, sortOptions = false,
      description = {
        "Starts the JobManager and the TaskManagers and returns once they have registered,"
            + " printing the REST and web UI URL and the pids. The processes keep running until"
            + " `vigil cluster stop` (or, with --foreground, until Ctrl-C)."
      },
      footerHeading = "%nExit codes:%n",
      footer = {"  0  the cluster is up", "  2  bad options, a port in use, a process that would"
          + " not start (its log is named)"})
  static final class Start implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin WorkDir workDir;

    @Option(names = "--taskmanagers", defaultValue = "2", paramLabel = "N",
        description = "TaskManager processes. Default: ${DEFAULT-VALUE}.")
    int taskManagers;

    @Option(names = "--slots", defaultValue = "2", paramLabel = "N",
        description = "Task slots per TaskManager. Default: ${DEFAULT-VALUE}.")
    int slots;

    @Option(names = "--tm-memory", defaultValue = "1536m", paramLabel = "SIZE",
        description = "taskmanager.memory.process.size of each TaskManager. Default:"
            + " ${DEFAULT-VALUE}.")
    String tmMemory;

    @Option(names = "--jm-memory", defaultValue = "1g", paramLabel = "SIZE",
        description = "jobmanager.memory.process.size. Default: ${DEFAULT-VALUE}.")
    String jmMemory;

    @Option(names = "--rest-port", defaultValue = "8081", paramLabel = "PORT",
        description = "The REST API and web UI (0: any free port). Default: ${DEFAULT-VALUE}.")
    int restPort;

    @Option(names = "--set", paramLabel = "KEY=VALUE",
        description = "An extra config.yaml key (repeatable), e.g. --set"
            + " execution.checkpointing.num-retained=3.")
    List<String> set = new ArrayList<>();

    @Option(names = "--jvm-option", paramLabel = "OPTION",
        description = "An extra JVM option of every process (repeatable).")
    List<String> jvmOptions = new ArrayList<>();

    @Option(names = "--foreground",
        description = "Stay in the foreground; Ctrl-C stops every process.")
    boolean foreground;

    @Override
    public Integer call() throws Exception {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      java.util.Map<String, String> extra = new java.util.LinkedHashMap<>();
      for (String kv : set) {
        int eq = kv.indexOf('=');
        if (eq <= 0) {
          err.println("vigil cluster start: --set " + kv + ": expected KEY=VALUE");
          err.flush();
          return 2;
        }
        extra.put(kv.substring(0, eq).trim(), kv.substring(eq + 1).trim());
      }
      StandaloneCluster.Options options;
      try {
        options = new StandaloneCluster.Options(taskManagers, slots, tmMemory, jmMemory,
            restPort, workDir.resolve(), jvmOptions, extra, foreground);
        Files.createDirectories(options.workDir());
      } catch (IllegalArgumentException e) {
        err.println("vigil cluster start: " + e.getMessage());
        err.flush();
        return 2;
      }
      long t0 = System.nanoTime();
      StandaloneCluster cluster;
      try {
        // The shutdown hook stops a partial start (Ctrl-C); detach() below removes it.
        cluster = StandaloneCluster.start(options);
      } catch (ClusterException e) {
        err.println("vigil cluster start: " + e.getMessage());
        err.flush();
        return 2;
      }
      out.printf(Locale.ROOT, "Flink cluster up in %.1f s (1 JobManager, %d TaskManagers x %d"
              + " slots)%n  REST API   %s%n  web UI     %s/#/overview%n  work dir   %s%n",
          (System.nanoTime() - t0) / 1e9, taskManagers, slots, cluster.restUrl(),
          cluster.restUrl(), cluster.workDir());
      printNode(out, cluster.jobManager());
      cluster.taskManagers().forEach(n -> printNode(out, n));
      if (!foreground) {
        cluster.detach();
        out.printf("Stop it with: vigil cluster stop%s%n", workDir.dir == null ? ""
            : " --work-dir " + cluster.workDir());
        out.flush();
        return 0;
      }
      out.println("In the foreground: Ctrl-C stops every process.");
      out.flush();
      new CountDownLatch(1).await(); // until Ctrl-C: the shutdown hook stops the cluster
      return 0;
    }

    private static void printNode(PrintWriter out, StandaloneCluster.Node n) {
      out.printf(Locale.ROOT, "  %-14s pid %-8d metrics %s  log %s%n", n.name(), n.pid(),
          n.metricsUrl(), n.log());
    }
  }

  @Command(name = "status", mixinStandardHelpOptions = true,
      description = "The processes of the pid file (alive or not) and what the REST API reports.",
      footerHeading = "%nExit codes:%n",
      footer = {"  0  every recorded process is alive and the REST API answers",
          "  1  a process is gone or the REST API does not answer", "  2  no cluster recorded"
          + " in the work dir"})
  static final class Status implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin WorkDir workDir;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Path dir = workDir.resolve();
      List<StandaloneCluster.Recorded> recorded;
      try {
        recorded = StandaloneCluster.recorded(dir);
      } catch (ClusterException e) {
        err.println("vigil cluster status: " + e.getMessage());
        err.flush();
        return 2;
      }
      if (recorded.isEmpty()) {
        err.println("vigil cluster status: no cluster recorded in " + dir + " (no "
            + StandaloneCluster.PID_FILE + "); start one with `vigil cluster start`");
        err.flush();
        return 2;
      }
      String rest = StandaloneCluster.recordedRestUrl(dir).orElse("?");
      boolean ok = true;
      out.printf("cluster in %s%n  REST API / web UI  %s%n", dir, rest);
      for (StandaloneCluster.Recorded r : recorded) {
        ok &= r.alive();
        out.printf(Locale.ROOT, "  %-14s pid %-8d %-6s metrics http://127.0.0.1:%d/metrics%n",
            r.name(), r.pid(), r.alive() ? "alive" : "GONE", r.prometheusPort());
      }
      try {
        HttpResponse<String> r = HttpClient.newHttpClient().send(
            HttpRequest.newBuilder(URI.create(rest + "/overview"))
                .timeout(Duration.ofSeconds(5)).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode o = new ObjectMapper().readTree(r.body());
        out.printf(Locale.ROOT, "  REST: Flink %s, %d TaskManagers registered, slots %d free of"
                + " %d, jobs running %d, finished %d, failed %d, cancelled %d%n",
            o.path("flink-version").asText(), o.path("taskmanagers").asInt(),
            o.path("slots-available").asInt(), o.path("slots-total").asInt(),
            o.path("jobs-running").asInt(), o.path("jobs-finished").asInt(),
            o.path("jobs-failed").asInt(), o.path("jobs-cancelled").asInt());
      } catch (Exception e) {
        ok = false;
        out.printf("  REST: no answer at %s/overview (%s)%n", rest, e.getMessage());
      }
      out.flush();
      return ok ? 0 : 1;
    }
  }

  @Command(name = "stop", mixinStandardHelpOptions = true,
      description = "Stops every process the pid file records (SIGTERM, SIGKILL after 15 s).")
  static final class Stop implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin WorkDir workDir;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      PrintWriter err = spec.commandLine().getErr();
      Path dir = workDir.resolve();
      try {
        List<StandaloneCluster.Recorded> stopped = StandaloneCluster.stop(dir);
        if (stopped.isEmpty()) {
          out.println("no running cluster process recorded in " + dir);
        }
        for (StandaloneCluster.Recorded r : stopped) {
          out.printf("stopped %s (pid %d)%n", r.name(), r.pid());
        }
        out.flush();
        return 0;
      } catch (ClusterException e) {
        err.println("vigil cluster stop: " + e.getMessage());
        err.flush();
        return 2;
      }
    }
  }

  /** The repository this class was built in (its jar lies in local-env/target*), or null. */
  static Path repository() {
    try {
      Path p = Path.of(ClusterCommand.class.getProtectionDomain().getCodeSource().getLocation()
          .toURI()).toAbsolutePath();
      for (; p != null; p = p.getParent()) {
        if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("cluster-lib"))) {
          return p;
        }
      }
    } catch (Exception e) {
      // not from a file
    }
    return null;
  }
}
