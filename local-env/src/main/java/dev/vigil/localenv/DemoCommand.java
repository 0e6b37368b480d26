package dev.vigil.localenv;

import dev.vigil.avro.Decision;
import dev.vigil.avro.Transaction;
import dev.vigil.jobs.ConfigException;
import dev.vigil.jobs.DeadLetters;
import dev.vigil.jobs.ScoringConfig;
import dev.vigil.jobs.ScoringJob;
import dev.vigil.jobs.Sinks;
import dev.vigil.localenv.cluster.ClusterException;
import dev.vigil.localenv.cluster.ClusterJobs;
import dev.vigil.localenv.cluster.StandaloneCluster;
import dev.vigil.models.ModelException;
import dev.vigil.models.demo.DemoModel;
import dev.vigil.models.demo.FraudGenerator;
import dev.vigil.models.demo.WriteDemoData;
import dev.vigil.schemas.registry.SchemaRegistryClient;
import dev.vigil.schemas.serde.AvroWireSerializer;
import dev.vigil.statetools.Bootstrap;
import dev.vigil.statetools.StateToolException;
import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.flink.FeatureStage;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.Durations;
import dev.vigil.transforms.spec.SpecException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.flink.runtime.jobgraph.JobGraph;
import org.apache.flink.runtime.jobgraph.SavepointRestoreSettings;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.graph.StreamGraph;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vigil demo}: Vigil end to end on one machine, loopback only.
 *
 * <ol>
 *   <li>Starts a KRaft Kafka broker (its own JVM) and an Apicurio registry (its own JVM); global
 *       compatibility BACKWARD; registers Transaction under {@code payments.transactions-value};
 *       creates the topics (the input with {@code --partitions} partitions, keyed by card, read at
 *       {@code --parallelism}: the streamed features equal the offline ones for every entity at
 *       any partitioning, docs/feature-spec.md).
 *   <li>History: {@link FraudGenerator} payments of the cards for the days before the cut-over T
 *       (a few minutes ago), written as JSON lines; {@link Bootstrap} turns them into a savepoint
 *       under the scoring job's uids.
 *   <li>A Flink MiniCluster with its web UI (RocksDB, fixed-delay restarts, checkpoints every
 *       second, exactly-once sinks) runs {@link ScoringJob} restored from that savepoint, reading
 *       the input topic from its earliest offset: it holds only live events, all from T on, so
 *       nothing is counted twice.
 *       With {@code --cluster} the job runs instead as the shaded vigil-jobs.jar on a {@link
 *       StandaloneCluster} (a JobManager and TaskManager JVMs, started alongside the bootstrap),
 *       submitted through its REST API with {@code savepointPath} = the bootstrap savepoint.
 *   <li>A producer sends live payments of the same cards from T on at a fixed rate, with bad
 *       records mixed in; {@code --failures} kills the task manager mid-stream (with {@code
 *       --cluster}: SIGKILLs a TaskManager process that holds tasks, once the job has recovered
 *       from the previous kill and checkpointed since, and starts a replacement).
 *   <li>read_committed consumers read scores, feature vectors and dead letters until every record
 *       sent is accounted for; then the summary: counts, throughput, latency, precision and recall
 *       against the generator's labels, and every streamed feature vector checked against the
 *       offline point-in-time evaluator over history + live (in event-time order), with the
 *       stages' late, out-of-order and forced counts.
 * </ol>
 *
 * <p>Exit codes: 0 every invariant held; 1 one did not (the summary says which) or the results
 * did not arrive in time; 2 bad options, a taken port, a process that would not start.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Vigil end to end on 127.0.0.1: a Kafka broker, a schema registry and Flink with its web"
          + " UI; a year of generated payments bootstrapped into a savepoint, the scoring job"
          + " restored from it, live payments with fraud and bad records streamed through it"
          + " (docs/demo.md).",
      "Progress on standard error every 2 s; at the end a table and one JSON line on standard"
          + " output. Everything it started is stopped at the end, on Ctrl-C and on errors."
    },
    footerHeading = "%nExit codes:%n",
    footer = {
      "  0  every record scored or dead-lettered once, the sample equal to the offline values",
      "  1  an invariant broke (named on standard error) or results were missing at --timeout",
      "  2  bad options, a port in use, or a process that would not start",
      "130  stopped with Ctrl-C"
    })
public final class DemoCommand implements Callable<Integer> {
  static final String SUBJECT = "payments.transactions-value";
  static final String INPUT = "payments.transactions";
  static final String SCORES = "vigil.scores";
  static final String FEATURES = "vigil.features";
  static final String DEAD_LETTERS = "vigil.dead-letters";
  /** How far the live payments' event times end before now. */
  static final Duration CUTOVER_LAG = Duration.ofMinutes(5);
  static final Path DEFAULT_SPEC = Path.of("examples", "features.yaml");
  /** The repository this class was built in (its jar lies in local-env/target*), or null. */
  static final Path REPO = repository();

  static final int DEFAULT_RATE = 2000;
  /**
   * The default rate with {@code --cluster --failures}: a TaskManager process killed takes 20-30
   * s to be replaced and the job to run again (measured on 2 busy cores), so 20,000 payments at
   * 2,000/s (10 s) would end before a second kill; at 200/s they take 100 s.
   */
  static final int CLUSTER_FAILURES_RATE = 200;

  /** Overrides where {@code --cluster} finds the shaded job jar (the ITCases set it). */
  static final String JOBS_JAR_PROPERTY = "vigil.jobs.jar";

  @Spec CommandSpec spec;

  /** Task-manager kills injected so far (the summary's {@code taskmanager_kills}). */
  private int killed;

  @Option(names = "--events", paramLabel = "N",
      description = "Valid live payments to send (default 20,000; or --duration).")
  Integer events;

  @Option(names = "--duration", paramLabel = "DURATION",
      description = "Send for this long instead (e.g. 60s, 5m): --rate x duration payments.")
  String duration;

  @Option(names = "--rate", paramLabel = "R",
      description = "Records sent per second. Default: " + DEFAULT_RATE + "; "
          + CLUSTER_FAILURES_RATE + " with --cluster and --failures, so that the stream outlasts"
          + " the kills and the recoveries of the cluster's processes (20-30 s each on 2 busy"
          + " cores).")
  Double rateOption;

  double rate;

  @Option(names = "--cards", defaultValue = "1000", paramLabel = "N",
      description = "Cards of the generated payments (history and live). Default: ${DEFAULT-VALUE}.")
  int cards;

  @Option(names = "--history-days", defaultValue = "365", paramLabel = "D",
      description = "Days of history before the cut-over, bootstrapped into the savepoint."
          + " Default: ${DEFAULT-VALUE}.")
  int historyDays;

  @Option(names = "--history-rate", defaultValue = "2", paramLabel = "X",
      description = "Payments per active card and day in the history. Default: ${DEFAULT-VALUE}.")
  double historyRate;

  @Option(names = "--seed", defaultValue = "42", paramLabel = "S",
      description = "Seed of the generator (same seed, same payments). Default: ${DEFAULT-VALUE}.")
  long seed;

  @Option(names = "--bad-records", defaultValue = "10", paramLabel = "N",
      description = "Malformed and contract-violating records mixed in at random positions, in"
          + " turn: a duplicate (retry), not framed, unknown schema id, truncated Avro, negative"
          + " amount, empty card_id, event time in the future. All must be dead-lettered."
          + " Default: ${DEFAULT-VALUE}.")
  int badRecords;

  @Option(names = "--failures", defaultValue = "0", paramLabel = "N",
      description = "Kill the job's task manager N times, spread over the stream (with --cluster:"
          + " SIGKILL a TaskManager process that holds tasks and start a replacement); the job"
          + " recovers from its checkpoints. Default: ${DEFAULT-VALUE}.")
  int failures;

  @Option(names = "--cluster",
      description = "Run the scoring job on a standalone Flink cluster of its own processes (a"
          + " JobManager and --taskmanagers TaskManager JVMs, docs/cluster.md) instead of the"
          + " in-JVM MiniCluster: jobs/target/vigil-jobs.jar submitted through the REST API,"
          + " restored from the bootstrap savepoint; --failures then SIGKILLs TaskManager"
          + " processes.")
  boolean cluster;

  @Option(names = "--taskmanagers", paramLabel = "N",
      description = "With --cluster: TaskManager processes. Default: "
          + StandaloneCluster.Options.DEFAULT_TASK_MANAGERS + ".")
  Integer taskManagers;

  @Option(names = "--slots", paramLabel = "N",
      description = "With --cluster: task slots per TaskManager. Default: "
          + StandaloneCluster.Options.DEFAULT_SLOTS + ".")
  Integer slots;

  @Option(names = "--tm-memory", paramLabel = "SIZE",
      description = "With --cluster: taskmanager.memory.process.size of each TaskManager."
          + " Default: " + StandaloneCluster.Options.DEFAULT_TM_MEMORY + ".")
  String tmMemory;

  @Option(names = "--consistency-sample", defaultValue = "0", paramLabel = "N",
      description = "Streamed feature vectors compared with the offline evaluator, feature by"
          + " feature; 0: every scored event. Default: ${DEFAULT-VALUE}.")
  int consistencySample;

  @Option(names = "--partitions", defaultValue = "4", paramLabel = "N",
      description = "Partitions of the input topic (records keyed by card). Default:"
          + " ${DEFAULT-VALUE}.")
  int partitions;

  @Option(names = "--delivery", defaultValue = "auto", paramLabel = "G",
      description = "The scores sink's delivery: at_least_once (a score is visible as soon as it"
          + " is written: the latency a fraud decision needs), exactly_once (visible at the next"
          + " checkpoint commit), or auto: at_least_once, exactly_once with --failures. The feature"
          + " and dead-letter logs are always exactly_once. Default: ${DEFAULT-VALUE}.")
  String delivery;

  @Option(names = "--parallelism", defaultValue = "2", paramLabel = "P",
      description = "Parallelism of the scoring job. Default: ${DEFAULT-VALUE}.")
  int parallelism;

  @Option(names = "--kafka-port", defaultValue = "9092", paramLabel = "PORT",
      description = "Default: ${DEFAULT-VALUE}.")
  int kafkaPort;

  @Option(names = "--registry-port", defaultValue = "8081", paramLabel = "PORT",
      description = "Default: ${DEFAULT-VALUE}.")
  int registryPort;

  @Option(names = "--web-port", defaultValue = "8082", paramLabel = "PORT",
      description = "The Flink web UI and REST API (of the MiniCluster, or the JobManager's with"
          + " --cluster). Default: ${DEFAULT-VALUE}.")
  int webPort;

  @Option(names = "--spec", defaultValue = "examples/features.yaml", paramLabel = "F.yaml",
      description = "The feature spec (the demo model's inputs). Default: ${DEFAULT-VALUE} (of"
          + " the repository when not found here).")
  Path specFile;

  @Option(names = "--work-dir", paramLabel = "DIR",
      description = "Where each run gets a fresh folder (history, savepoint, checkpoints), deleted"
          + " at the end. Default: .vigil/demo/ in the repository, else the system temp dir.")
  Path workDir;

  @Option(names = "--timeout", defaultValue = "120s", paramLabel = "DURATION",
      description = "How long to wait, after the last record is sent, for every record to be"
          + " scored or dead-lettered. Default: ${DEFAULT-VALUE}.")
  String timeout;

  @Option(names = "--keep-running",
      description = "After the summary, leave everything up (endpoints printed) until Ctrl-C.")
  boolean keepRunning;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    long timeoutMillis;
    int valid;
    CompiledSpec compiled;
    rate = rateOption != null ? rateOption
        : cluster && failures > 0 ? CLUSTER_FAILURES_RATE : DEFAULT_RATE;
    try {
      timeoutMillis = Durations.parseMillis(timeout);
      long durationMillis = duration == null ? 0 : Durations.parseMillis(duration);
      if (events != null && duration != null) {
        return usage(err, "--events and --duration: give one or the other");
      }
      valid = duration != null ? (int) Math.max(1, Math.round(rate * durationMillis / 1000.0))
          : events != null ? events : 20_000;
      if (specFile.equals(DEFAULT_SPEC) && !Files.isRegularFile(specFile) && REPO != null) {
        specFile = REPO.resolve(DEFAULT_SPEC); // ./vigil demo from another folder
      }
      compiled = CompiledSpec.load(specFile);
    } catch (IllegalArgumentException | SpecException e) {
      return usage(err, e.getMessage());
    }
    if (!(rate > 0) || cards < 1 || historyDays < 1 || !(historyRate > 0) || badRecords < 0
        || failures < 0 || consistencySample < 0 || parallelism < 1 || valid < 1
        || partitions < 1 || partitions > 256
        || !List.of("auto", "at_least_once", "exactly_once").contains(delivery)) {
      return usage(err, "--rate, --cards, --history-days, --history-rate, --parallelism and the"
          + " event count must be positive; --bad-records, --failures, --consistency-sample not"
          + " negative; --partitions 1 to 256; --delivery auto, at_least_once or exactly_once");
    }
    if (valid < badRecords) {
      return usage(err, "--bad-records " + badRecords + " exceeds the " + valid + " live events");
    }
    Path jobsJar = null;
    if (cluster) {
      int tms = taskManagers != null ? taskManagers : StandaloneCluster.Options.DEFAULT_TASK_MANAGERS;
      int perTm = slots != null ? slots : StandaloneCluster.Options.DEFAULT_SLOTS;
      if (tms < 1 || perTm < 1) {
        return usage(err, "--taskmanagers and --slots must be at least 1, not " + tms + " and "
            + perTm);
      }
      if ((long) tms * perTm < parallelism) {
        return usage(err, "--parallelism " + parallelism + " needs " + parallelism + " task slots;"
            + " --taskmanagers " + tms + " x --slots " + perTm + " give " + tms * perTm
            + ": raise one of them or lower --parallelism");
      }
      jobsJar = jobsJar();
      if (!Files.isRegularFile(jobsJar)) {
        return usage(err, "--cluster submits the shaded job jar " + jobsJar + ", which does not"
            + " exist: build it with `./mvnw -B -q package -DskipTests -pl jobs -am` in "
            + (REPO != null ? REPO : "the repository") + " (or point -D" + JOBS_JAR_PROPERTY
            + " at it)");
      }
    } else if (taskManagers != null || slots != null || tmMemory != null) {
      return usage(err, "--taskmanagers, --slots and --tm-memory size the standalone cluster:"
          + " they need --cluster");
    }

    long t0 = System.nanoTime();
    Path run;
    try {
      Path base = workDir != null ? workDir
          : REPO != null ? REPO.resolve(".vigil").resolve("demo")
              : Path.of(System.getProperty("java.io.tmpdir"), "vigil-demo");
      Files.createDirectories(base);
      // Absolute: the cluster's processes read the savepoint, spec and model from another folder.
      run = Files.createTempDirectory(base, "run-").toAbsolutePath();
    } catch (IOException e) {
      return usage(err, "cannot create the work directory: " + e);
    }
    // The live payments come at the history's per-card rate, so that they look like the traffic
    // the model was trained on (squeezed into minutes, every card would look like card testing):
    // their event times span the days before now, and the cut-over lies that far back.
    Duration liveSpan = Duration.ofMillis(Math.max(Duration.ofHours(1).toMillis(),
        (long) Math.ceil(86_400_000.0 * valid / (cards * historyRate))));
    Instant cutover = Instant.now().minus(liveSpan).minus(CUTOVER_LAG)
        .truncatedTo(ChronoUnit.SECONDS);
    LocalServices services = new LocalServices(() -> deleteTree(run));
    CompletableFuture<Double> clusterStart = CompletableFuture.completedFuture(0.0);
    try {
      try {
        services.checkPorts(kafkaPort, registryPort, webPort);
      } catch (IllegalStateException e) {
        return usage(err, e.getMessage());
      }
      // Both JVMs start while the history is generated and bootstrapped (they wait on I/O).
      CompletableFuture<Double> infra = CompletableFuture.supplyAsync(() -> {
        long s = System.nanoTime();
        services.startKafkaAndRegistry(kafkaPort, registryPort, "1g");
        return (System.nanoTime() - s) / 1e9;
      });
      // Then the cluster's JVMs, still while the history is bootstrapped: after the broker and
      // the registry, not with them (on 2 cores loaded by other builds, five JVMs starting at
      // once beside the generator kept the broker from being ready within its 90 s).
      if (cluster) {
        clusterStart = infra.thenApplyAsync(up -> {
          long s = System.nanoTime();
          services.startCluster(clusterOptions(run.resolve("cluster")));
          return (System.nanoTime() - s) / 1e9;
        });
      }

      // (2) history and bootstrap
      long s = System.nanoTime();
      Path historyDir = run.resolve("history");
      long[] counts = WriteDemoData.write(FraudGenerator.generate(seed, cards,
          cutover.minus(Duration.ofDays(historyDays)), Duration.ofDays(historyDays), historyRate),
          historyDir);
      Path history = historyDir.resolve("transactions.jsonl");
      err.printf(Locale.ROOT, "demo: history: %,d payments (%,d fraud) of %,d cards over the %d"
              + " days before the cut-over %s -> %s in %.1f s%n", counts[0], counts[1], cards,
          historyDays, cutover, history, secondsSince(s));
      err.flush();
      s = System.nanoTime();
      Path savepoint = run.resolve("savepoint");
      long horizon = Durations.parseMillis(ScoringConfig.KEYS.stream()
          .filter(k -> k.name().equals("dedupe.horizon")).findFirst().orElseThrow().defaultValue());
      Bootstrap.Summary boot = Bootstrap.run(compiled, history, cutover.toEpochMilli(), savepoint,
          OperatorUids.DEFAULT_MAX_PARALLELISM, Math.min(2, parallelism), horizon, false,
          new java.io.PrintStream(new java.io.OutputStream() {
            @Override
            public void write(int b) {
              // the bootstrap's own progress lines: the demo prints its summary instead
            }
          }));
      err.printf(Locale.ROOT, "demo: state bootstrap: savepoint of %s keys (%,d events) in %.1f s%n",
          boot.keys(), boot.history().events(), secondsSince(s));
      err.flush();
      // The offline side of the consistency check reads the same history meanwhile.
      CompletableFuture<Consistency> offline = CompletableFuture.supplyAsync(() -> {
        try {
          return new Consistency(compiled).history(history);
        } catch (Exception e) {
          throw new IllegalStateException("cannot evaluate the history offline: " + e.getMessage(), e);
        }
      });

      double infraSeconds;
      try {
        infraSeconds = infra.join();
      } catch (CompletionException e) {
        return failedToStart(err, e.getCause());
      }
      String bootstrap = services.broker.bootstrapServers();
      String registryUrl = services.registry.confluentApiUrl();
      err.printf(Locale.ROOT, "demo: Kafka broker (own JVM) at %s and Apicurio registry at %s up"
          + " in %.1f s%n", bootstrap, registryUrl, infraSeconds);

      // (1, cont.) registry and topics
      s = System.nanoTime();
      SchemaRegistryClient registry = SchemaRegistryClient.of(registryUrl);
      registry.setGlobalCompatibility("BACKWARD");
      AvroWireSerializer<Transaction> serializer =
          AvroWireSerializer.forSpecific(registry, SUBJECT, Transaction.class);
      int schemaId = serializer.schemaId();
      Map<String, Integer> topics = new LinkedHashMap<>();
      topics.put(INPUT, partitions);
      topics.put(SCORES, 1);
      topics.put(FEATURES, 1);
      topics.put(DEAD_LETTERS, 1);
      DemoKafka.createTopics(bootstrap, topics);
      err.printf(Locale.ROOT, "demo: compatibility BACKWARD, Transaction registered under %s (id"
          + " %d), topics %s (input: %d partitions, keyed by card) in %.1f s%n", SUBJECT,
          schemaId, topics.keySet(), partitions, secondsSince(s));

      // (4, prepared) the live stream, before the clock of the run starts
      s = System.nanoTime();
      LiveStream live =
          LiveStream.build(seed, cards, cutover, liveSpan, valid, badRecords, serializer);
      Set<String> sample = sample(valid, consistencySample == 0 ? valid : consistencySample, seed);
      err.printf(Locale.ROOT, "demo: live stream: %,d payments from %s to %s and %,d bad records,"
          + " built in %.1f s%n", valid, cutover, Instant.ofEpochMilli(live.lastEventMillis),
          badRecords, secondsSince(s));

      // (3) Flink and the scoring job from the savepoint
      s = System.nanoTime();
      Path model = DemoModel.extractTo(run.resolve("model"));
      Map<String, String> jobKeys = scoringKeys(bootstrap, registryUrl, model);
      ScoringConfig config = ScoringConfig.of(jobKeys);
      ScoringJob.checkModels(config, compiled);
      String restoreFrom = savepoint.toUri().toString();
      DemoFlink flink;
      if (!cluster) {
        services.startFlink(webPort, parallelism, run.resolve("checkpoints"));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        ScoringJob.defineWorkflow(env, config, compiled, ScoringJob.source(env, config, null),
            Sinks.kafka(config));
        StreamGraph graph = env.getStreamGraph();
        graph.setJobName("vigil demo: scoring " + INPUT);
        JobGraph job = graph.getJobGraph();
        job.setSavepointRestoreSettings(SavepointRestoreSettings.forPath(restoreFrom, false));
        services.flink.submitJob(job).get(60, TimeUnit.SECONDS);
        DemoFlink.Mini mini = new DemoFlink.Mini(services, job.getJobID());
        mini.awaitRunning();
        flink = mini;
        err.printf(Locale.ROOT, "demo: Flink MiniCluster (1 task manager, %d slots, RocksDB,"
            + " checkpoints every 1 s, scores " + scoresDelivery() + "); scoring job %s restored"
            + " from the savepoint, running in %.1f s%n", parallelism, flink.jobId(),
            secondsSince(s));
      } else {
        double clusterSeconds;
        try {
          clusterSeconds = clusterStart.join(); // infra has joined: a failure here is the cluster's
        } catch (CompletionException e) {
          return failedToStart(err, e.getCause());
        }
        StandaloneCluster.Options o = clusterOptions(run.resolve("cluster"));
        err.printf(Locale.ROOT, "demo: Flink standalone cluster up in %.1f s: 1 JobManager + %d"
                + " TaskManager JVMs x %d slots (%s each), work dir %s%n", clusterSeconds,
            o.taskManagers(), o.slots(), o.tmMemory(), services.cluster.workDir());
        ClusterJobs jobs = new ClusterJobs(services.cluster.restUrl());
        String jarId = jobs.uploadJar(jobsJar);
        List<String> args = new ArrayList<>();
        jobKeys.forEach((k, v) -> {
          args.add("--" + k);
          args.add(v);
        });
        String id = jobs.run(jarId, ClusterJobs.Run.of(ScoringJob.class.getName(), args,
            parallelism).fromSavepoint(restoreFrom, false));
        jobs.awaitAllTasksRunning(id, Duration.ofSeconds(180));
        // Its first checkpoint before the stream starts: the first kill then tests a recovery
        // from a checkpoint of the live stream, not a restart from the savepoint.
        DemoFlink.Standalone standalone = new DemoFlink.Standalone(services.cluster, jobs, id);
        standalone.awaitCheckpoint(Duration.ofSeconds(120));
        flink = standalone;
        err.printf(Locale.ROOT, "demo: %s uploaded through the REST API; scoring job %s"
                + " (RocksDB, checkpoints every 1 s, scores %s) restored from the savepoint %s,"
                + " every task running and a first checkpoint completed in %.1f s%n",
            jobsJar.getFileName(), id, scoresDelivery(),
            restoreFrom, secondsSince(s));
      }
      err.printf("demo: Flink web UI: %s%n", services.webUrl());
      err.flush();

      // (4, 5, 6) stream, inject failures, watch
      DemoKafka.PacedProducer producer = new DemoKafka.PacedProducer(bootstrap, INPUT, live, rate);
      DemoKafka.Results results = new DemoKafka.Results(bootstrap, SCORES, FEATURES, DEAD_LETTERS,
          registry, valid, sample, producer);
      results.start();
      producer.start();
      err.printf(Locale.ROOT, "demo: sending %,d records at %,.0f/s%s%n", live.records.size(), rate,
          failures == 0 ? "" : cluster ? ", SIGKILLing a TaskManager process " + failures
              + " time(s) on the way" : ", killing the task manager " + failures
              + " time(s) on the way");
      err.flush();
      String missing = watch(flink, producer, results, live, timeoutMillis, err);
      results.shutdown();
      producer.join(10_000);
      results.check();

      // (7) the summary
      Consistency.Result consistency = offline.join().live(live.valid, sample,
          results.sampledVectors);
      Summary summary = Summary.of(live, producer, results, consistency, partitions,
          scoresDelivery(), flink.stageCounts(), cluster ? "standalone_cluster" : "minicluster",
          killed);
      summary.print(out, live);
      out.flush();
      List<String> broken = summary.brokenInvariants(live);
      if (missing != null) {
        broken.add(0, missing);
      } else if (killed < failures) {
        broken.add(String.format(Locale.ROOT, "only %d of the %d failures of --failures were"
            + " injected: every result was in before the job had recovered and completed a"
            + " checkpoint again; send for longer (a lower --rate, more --events or --duration)",
            killed, failures));
      }
      for (Consistency.Mismatch m : consistency.examples()) {
        err.printf("demo: consistency: %s %s: streamed %s, offline %s%n", m.id(), m.feature(),
            m.streamed(), m.offline());
      }
      for (String b : broken) {
        err.println("demo: FAILED: " + b);
      }
      err.printf(Locale.ROOT, "demo: done in %.1f s%n", secondsSince(t0));
      err.flush();
      if (keepRunning) {
        err.printf("demo: still running (Ctrl-C stops everything):%n  Kafka      %s%n"
                + "  registry   %s%n  Flink UI   %s%n  topics     %s%n", bootstrap, registryUrl,
            services.webUrl(), String.join(", ", topics.keySet()));
        err.flush();
        new CountDownLatch(1).await();
      }
      return broken.isEmpty() ? 0 : 1;
    } catch (StateToolException | ModelException | ConfigException e) {
      return usage(err, e.getMessage());
    } catch (Exception e) {
      if (services.isClosed()) {
        return 130; // stopped from outside (Ctrl-C): the shutdown hook stops everything
      }
      if (e instanceof IllegalStateException || e instanceof ClusterException) {
        return failedToStart(err, e);
      }
      throw e;
    } finally {
      if (!services.isClosed()) {
        // A failure before the cluster was needed: let its start end first, so that close()
        // stops its processes before the run's folder, their work dir, is deleted.
        try {
          clusterStart.join();
        } catch (CompletionException e) {
          // reported where the cluster was needed, or irrelevant after the earlier failure
        }
      }
      services.close();
    }
  }

  private static Path repository() {
    try {
      Path p = Path.of(DemoCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI())
          .toAbsolutePath();
      for (; p != null; p = p.getParent()) {
        if (Files.isRegularFile(p.resolve(DEFAULT_SPEC)) && Files.isRegularFile(p.resolve("pom.xml"))) {
          return p;
        }
      }
    } catch (Exception e) {
      // not from a file: no repository
    }
    return null;
  }

  /** Valid indexes of the sample, as ids. */
  static Set<String> sample(int valid, int size, long seed) {
    Set<String> ids = new HashSet<>();
    if (size >= valid) {
      for (int i = 0; i < valid; i++) {
        ids.add(LiveStream.id(i));
      }
      return ids;
    }
    SplittableRandom random = new SplittableRandom(seed * 31 + 7);
    while (ids.size() < size) {
      ids.add(LiveStream.id(random.nextInt(valid)));
    }
    return ids;
  }

  /** The scoring job's configuration keys (on the cluster, its {@code --key value} arguments). */
  Map<String, String> scoringKeys(String bootstrap, String registryUrl, Path model) {
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("bootstrap.servers", bootstrap);
    keys.put("registry.url", registryUrl);
    keys.put("input.topic", INPUT);
    keys.put("scores.topic", SCORES);
    keys.put("features.topic", FEATURES);
    keys.put("dead-letters.topic", DEAD_LETTERS);
    keys.put("group.id", "vigil-demo");
    keys.put("transactional.id.prefix", "vigil-demo");
    keys.put("spec", specFile.toAbsolutePath().normalize().toString());
    keys.put("model", model.toAbsolutePath().toString());
    keys.put("parallelism", Integer.toString(parallelism));
    keys.put("max.parallelism", Integer.toString(OperatorUids.DEFAULT_MAX_PARALLELISM));
    keys.put("checkpoint.interval", "1s");
    keys.put("transaction.timeout", "1m");
    keys.put("checkpoint.timeout", "8s");
    keys.put("recovery.budget", "30s");
    keys.put("starting.offsets", "earliest");
    keys.put("scores.delivery", scoresDelivery());
    // The live stream squeezes days of event time into seconds (a day per second at the default
    // rate): alignment's drift is in event time, so the job's 30 s would pause the partitions
    // all the time. A day keeps the catch-up guard without throttling the demo.
    keys.put("watermark.alignment.max-drift", "1d");
    // For the same reason a merchant read as of 2 s before its payment is seconds of wall clock
    // ahead of the watermark only at real time; here it waits for the next watermark, so emit
    // them often.
    keys.put("watermark.interval", "10ms");
    keys.put("features.delivery", "exactly_once");
    keys.put("dead-letters.delivery", "exactly_once");
    return keys;
  }

  /** The scores sink's delivery for {@code --delivery}. */
  String scoresDelivery() {
    return !delivery.equals("auto") ? delivery : failures > 0 ? "exactly_once" : "at_least_once";
  }

  /** How long the watch waits for sampled feature vectors once every record has its result. */
  private static final long VECTOR_GRACE_NANOS = TimeUnit.SECONDS.toNanos(15);

  /**
   * Until every record sent is scored or dead-lettered (and the sampled feature vectors are in, or
   * {@link #VECTOR_GRACE_NANOS} has passed): the progress line every 2 s, the task-manager kills
   * when due. Returns null when complete, else what is missing.
   */
  private String watch(DemoFlink flink, DemoKafka.PacedProducer producer,
      DemoKafka.Results results, LiveStream live, long timeoutMillis, PrintWriter err)
      throws Exception {
    int total = live.records.size();
    long accountedAtLastKill = -1;
    long lastPrint = System.nanoTime();
    long lastAccounted = 0;
    long allAccountedNanos = 0;
    while (true) {
      Thread.sleep(50); // the watch loop's tick
      producer.check();
      results.check();
      long accounted = results.scored.get() + results.deadLetters.get();
      long now = System.nanoTime();
      if (now - lastPrint >= 2_000_000_000L) {
        List<Long> recent = new ArrayList<>();
        Long l;
        while ((l = results.recentLatencyNanos.poll()) != null) {
          recent.add(l);
        }
        double p99 = Summary.percentileMs(recent.stream().mapToLong(Long::longValue).toArray(), 0.99);
        err.printf(Locale.ROOT, "events %d, scored %d, dead letters %d, events/s %.0f, p99 latency"
                + " %s ms%n", producer.sent.get(), results.scored.get(), results.deadLetters.get(),
            (accounted - lastAccounted) / ((now - lastPrint) / 1e9),
            Double.isNaN(p99) ? "-" : String.format(Locale.ROOT, "%.0f", p99));
        err.flush();
        lastPrint = now;
        lastAccounted = accounted;
      }
      if (accounted >= total && producer.sent.get() == total) {
        // The feature vectors have their own sink and committer, so under exactly-once a score
        // can be visible a moment before its vector: give the sampled vectors a while to arrive
        // (the consistency check then names any still missing).
        if (allAccountedNanos == 0) {
          allAccountedNanos = now;
        }
        if (results.sampledVectorsComplete() || now - allAccountedNanos > VECTOR_GRACE_NANOS) {
          return null;
        }
      }
      String line = flink.poll();
      if (line != null) {
        err.println(line);
        err.flush();
      }
      // Failure k once k / (failures + 1) of the records have results: the job has committed
      // checkpoints (since the previous kill too: it recovered) and still has work to do. On the
      // cluster, once k / (failures + 1) of the records are sent, and readyToKill says the job
      // recovered and completed a checkpoint since: its exactly-once results can lag the stream
      // by more than a recovery there takes, so waiting for them put the kill after the stream.
      boolean due = cluster
          ? producer.sent.get() >= (long) total * (killed + 1) / (failures + 1)
          : accounted > 0 && accounted >= (long) total * (killed + 1) / (failures + 1)
              && accounted > accountedAtLastKill;
      if (killed < failures && due && flink.readyToKill()) {
        String what = flink.killTaskManager();
        killed++;
        accountedAtLastKill = accounted;
        err.printf(Locale.ROOT, "demo: failure %d/%d: %s after %,d records sent (%,d results"
            + " visible)%s; the job restarts from its last checkpoint%n", killed, failures, what,
            producer.sent.get(), accounted, cluster ? "" : "; a new one started");
        if (killed == 1) {
          err.println("demo: (the Kafka connector may now log 'Unable to commit transaction ..."
              + " already fenced': after recovery it commits again the transactions of the last"
              + " checkpoint, and those committed before the kill are fenced. The summary counts"
              + " every record a read_committed consumer sees, so a real loss shows there.)");
        }
        err.flush();
      }
      if (producer.endNanos != 0
          && now - producer.endNanos > TimeUnit.MILLISECONDS.toNanos(timeoutMillis)) {
        long scoredNow = results.scored.get();
        return String.format(Locale.ROOT, "timed out %d s after the last record was sent: %,d of"
                + " %,d records accounted for (%,d of %,d valid scored, %,d of %,d bad"
                + " dead-lettered); %,d missing%s", timeoutMillis / 1000, accounted, total,
            scoredNow, live.valid.length, results.deadLetters.get(), total - live.valid.length,
            total - accounted, killed < failures ? "; only " + killed + " failures injected" : "");
      }
    }
  }

  /** The shaded job jar: -Dvigil.jobs.jar, else jobs/target/vigil-jobs.jar of the repository. */
  static Path jobsJar() {
    String property = System.getProperty(JOBS_JAR_PROPERTY);
    if (property != null) {
      return Path.of(property).toAbsolutePath().normalize();
    }
    Path relative = Path.of("jobs", "target", "vigil-jobs.jar");
    return REPO != null ? REPO.resolve(relative) : relative.toAbsolutePath();
  }

  /**
   * The standalone cluster of {@code --cluster}: StandaloneCluster's sizes (for 2 cores and 24
   * GiB: 2 TaskManagers x 2 slots of 1536 MiB, a 1 GiB JobManager) unless given, REST and web UI
   * on {@code --web-port}, stopped with this JVM.
   */
  StandaloneCluster.Options clusterOptions(Path dir) {
    StandaloneCluster.Options d = StandaloneCluster.Options.defaults(dir);
    // A SIGKILLed TaskManager is noticed by its refused heartbeat RPCs within seconds; the
    // timeout is only for a live one that does not answer, and on a machine loaded by other work
    // 10 s timed live ones out (LocalServices gives the MiniCluster 30 s for the same reason).
    Map<String, String> config = Map.of("heartbeat.timeout", "30 s");
    return new StandaloneCluster.Options(
        taskManagers != null ? taskManagers : d.taskManagers(), slots != null ? slots : d.slots(),
        tmMemory != null ? tmMemory : d.tmMemory(), d.jmMemory(), webPort, dir, List.of(),
        config, true);
  }

  private int usage(PrintWriter err, String message) {
    err.println("vigil demo: " + message);
    err.flush();
    return 2;
  }

  private int failedToStart(PrintWriter err, Throwable e) {
    err.println("vigil demo: " + e.getMessage());
    err.flush();
    return 2;
  }

  static double secondsSince(long nanos) {
    return (System.nanoTime() - nanos) / 1e9;
  }

  static void deleteTree(Path root) {
    if (root == null || !Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** What one run measured; {@link #json()} is the line on standard output. */
  record Summary(long events, long scored, long deadLettered, long late, long outOfOrder,
      long forced, long duplicatesScored, long unexpectedScores, Map<String, Long> deadByReason,
      double eventsPerSecond, double p50, double p99, double precision, double recall,
      int consistencyChecked, int consistencyMismatches, int partitions, String delivery,
      String flink, int taskManagerKills) {

    static Summary of(LiveStream live, DemoKafka.PacedProducer producer,
        DemoKafka.Results results, Consistency.Result consistency, int partitions,
        String delivery, Map<String, Long> counts, String flink, int taskManagerKills) {
      int n = live.valid.length;
      long[] latencies = new long[n];
      int k = 0;
      long tp = 0;
      long fp = 0;
      long fn = 0;
      for (int i = 0; i < n; i++) {
        if (results.seenAt[i] != 0 && producer.sentAt[i] != 0) {
          latencies[k++] = results.seenAt[i] - producer.sentAt[i];
        }
        Decision d = results.decision[i];
        if (d == null) {
          continue;
        }
        boolean flagged = d != Decision.APPROVE;
        if (flagged && live.fraud[i]) {
          tp++;
        } else if (flagged) {
          fp++;
        } else if (live.fraud[i]) {
          fn++;
        }
      }
      long[] sorted = Arrays.copyOf(latencies, k);
      Map<String, Long> reasons = new LinkedHashMap<>();
      for (String r : DeadLetters.REASONS) {
        var c = results.deadByReason.get(r);
        if (c != null) {
          reasons.put(r, c.get());
        }
      }
      results.deadByReason.forEach((r, c) -> reasons.putIfAbsent(r, c.get()));
      long accounted = results.scored.get() + results.deadLetters.get();
      double seconds = (results.lastSeenNanos - producer.startNanos) / 1e9;
      return new Summary(live.records.size(), results.scored.get(), results.deadLetters.get(),
          counts.get(FeatureStage.ACC_LATE), counts.get(FeatureStage.ACC_OUT_OF_ORDER),
          counts.get(FeatureStage.ACC_FORCED), results.duplicates.get(), results.unexpected.get(),
          reasons, seconds > 0 ? accounted / seconds : 0, percentileMs(sorted, 0.50),
          percentileMs(sorted, 0.99), tp + fp == 0 ? Double.NaN : (double) tp / (tp + fp),
          tp + fn == 0 ? Double.NaN : (double) tp / (tp + fn), consistency.checked(),
          consistency.mismatched(), partitions, delivery, flink, taskManagerKills);
    }

    /** Nearest-rank percentile in milliseconds of nanosecond values (NaN if none). */
    static double percentileMs(long[] nanos, double q) {
      if (nanos.length == 0) {
        return Double.NaN;
      }
      long[] s = nanos.clone();
      Arrays.sort(s);
      int rank = (int) Math.ceil(q * s.length);
      return s[Math.max(0, Math.min(s.length - 1, rank - 1))] / 1e6;
    }

    /** The invariants of the acceptance: every record accounted for, once, and the same values. */
    List<String> brokenInvariants(LiveStream live) {
      List<String> broken = new ArrayList<>();
      long bad = live.records.size() - live.valid.length;
      if (deadLettered != bad) {
        broken.add("dead_lettered " + deadLettered + " != bad records " + bad);
      }
      if (scored != live.valid.length) {
        broken.add("scored " + scored + " != valid events " + live.valid.length);
      }
      if (duplicatesScored != 0) {
        broken.add(duplicatesScored + " transaction ids have more than one Score");
      }
      if (unexpectedScores != 0) {
        broken.add(unexpectedScores + " scores or feature vectors for ids never sent as valid,"
            + " or repeated");
      }
      for (LiveStream.Bad b : LiveStream.Bad.values()) {
        long want = live.badCount(b);
        long got = deadByReason.getOrDefault(b.reason, 0L);
        if (want > 0 && got != want) {
          broken.add("dead letters with reason " + b.reason + ": " + got + ", expected " + want);
        }
      }
      if (consistencyMismatches != 0) {
        broken.add(consistencyMismatches + " of " + consistencyChecked
            + " feature vectors differ from the offline evaluation");
      }
      return broken;
    }

    void print(PrintWriter out, LiveStream live) {
      out.println();
      out.println("  Vigil demo");
      row(out, "records sent", String.format(Locale.ROOT, "%,d (%,d valid, %,d bad)", events,
          live.valid.length, events - live.valid.length));
      row(out, "scored", String.format(Locale.ROOT, "%,d", scored));
      row(out, "dead-lettered", String.format(Locale.ROOT, "%,d  %s", deadLettered, deadByReason));
      row(out, "input", String.format(Locale.ROOT, "%d partitions keyed by card; scores %s",
          partitions, delivery));
      row(out, "late / out of order", String.format(Locale.ROOT, "%d / %d (events behind the"
          + " watermark / behind their card's newest; %d read after the longest wait)", late,
          outOfOrder, forced));
      row(out, "flink", flink.equals("standalone_cluster")
          ? String.format(Locale.ROOT, "standalone cluster (JobManager and TaskManager JVMs);"
              + " %d TaskManager process(es) SIGKILLed and replaced", taskManagerKills)
          : String.format(Locale.ROOT, "MiniCluster in this JVM; task manager killed %d time(s)",
              taskManagerKills));
      row(out, "ids scored twice", Long.toString(duplicatesScored));
      row(out, "throughput", String.format(Locale.ROOT, "%,.0f events/s (first send to last"
          + " result)", eventsPerSecond));
      row(out, "latency p50 / p99", String.format(Locale.ROOT, "%.0f / %.0f ms (send to visible"
          + " to a read_committed consumer)", p50, p99));
      row(out, "precision / recall", String.format(Locale.ROOT, "%s / %s (decision != APPROVE vs"
          + " the generator's labels)", fmt(precision), fmt(recall)));
      row(out, "consistency", String.format(Locale.ROOT, "%,d of %,d feature vectors equal the"
          + " offline evaluation, every feature of every entity",
          consistencyChecked - consistencyMismatches, consistencyChecked));
      out.println();
      out.println(json());
    }

    private static void row(PrintWriter out, String name, String value) {
      out.printf(Locale.ROOT, "  %-20s %s%n", name, value);
    }

    private static String fmt(double v) {
      return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.3f", v);
    }

    private static String num(double v, String format) {
      return Double.isNaN(v) ? "null" : String.format(Locale.ROOT, format, v);
    }

    String json() {
      return String.format(Locale.ROOT, "{\"events\":%d,\"scored\":%d,\"dead_lettered\":%d,"
              + "\"late\":%d,\"out_of_order\":%d,\"forced\":%d,\"duplicates_scored\":%d,"
              + "\"events_per_second\":%s,\"latency_p50_ms\":%s,\"latency_p99_ms\":%s,"
              + "\"precision\":%s,\"recall\":%s,\"consistency_checked\":%d,"
              + "\"consistency_mismatches\":%d,\"partitions\":%d,\"scores_delivery\":\"%s\","
              + "\"flink\":\"%s\",\"taskmanager_kills\":%d}",
          events, scored, deadLettered, late, outOfOrder, forced, duplicatesScored,
          num(eventsPerSecond, "%.0f"), num(p50, "%.1f"), num(p99, "%.1f"),
          num(precision, "%.4f"), num(recall, "%.4f"), consistencyChecked, consistencyMismatches,
          partitions, delivery, flink, taskManagerKills);
    }
  }
}
