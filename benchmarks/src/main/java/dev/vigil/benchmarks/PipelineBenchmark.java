package dev.vigil.benchmarks;

import dev.vigil.infra.Ports;
import dev.vigil.infra.kafka.KafkaBroker;
import dev.vigil.infra.kafka.KafkaBrokerProcess;
import dev.vigil.infra.registry.ApicurioRegistry;
import dev.vigil.jobs.ScoringConfig;
import dev.vigil.jobs.ScoringJob;
import dev.vigil.jobs.Sinks;
import dev.vigil.models.demo.DemoModel;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.PrintWriter;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code vigil bench pipeline}: the scoring job end to end (Kafka source, decode, features, model,
 * Kafka sinks) against two ceilings, a stateless pass-through (Kafka source, decode, a Score-like
 * record, Kafka sink: {@link PassThroughJob}) and a keyed pass-through of the job's shape (the same
 * with the job's keyBy per entity and one trivial state read and write per keyed stage: {@link
 * KeyedPassThroughJob}), under at-least-once and exactly-once sinks. A real broker (its own JVM), a real Apicurio
 * registry, a Flink MiniCluster with RocksDB and checkpoints. Per contender and guarantee, one job
 * measures two things in a row: (1) saturation: N events produced before the job starts, read
 * from earliest; events/s from the first score written (its {@code scored_at}) to the last score
 * visible to a read_committed consumer;
 * (2) latency: a producer then sends at a fixed rate; per event, the time its score becomes
 * visible to that consumer minus the time it was sent; p50 and p99 after a warm-up.
 */
@Command(
    name = "pipeline",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "The scoring job (examples/features.yaml, the demo model) vs a decode -> encode pass-through"
          + " and a keyed pass-through of the job's shape (keyBy card -> state -> keyBy merchant ->"
          + " state), on a local Kafka broker and Apicurio registry: events/s at saturation and"
          + " produce-to-committed-score latency at a fixed rate, per delivery guarantee.",
      "One JSON line per contender and guarantee on standard output; progress on standard error."
    })
public final class PipelineBenchmark implements Callable<Integer> {
  static final List<String> CONTENDERS = List.of("pass_through", "keyed_pass_through", "vigil");
  static final List<String> GUARANTEES = List.of("at_least_once", "exactly_once");

  @Spec CommandSpec spec;

  @Option(names = "--quick", description = "100,000 events, 15 s of latency: all six lines in"
      + " about 6 minutes.")
  boolean quick;

  @Option(names = "--events", paramLabel = "N",
      description = "Events produced before each job starts, for the saturation figure (default"
          + " 1,000,000; --quick 100,000).")
  Integer events;

  @Option(names = "--rate", defaultValue = "5000", paramLabel = "R",
      description = "Events per second of the latency measurement. Default: ${DEFAULT-VALUE}.")
  double rate;

  @Option(names = "--latency-seconds", paramLabel = "S",
      description = "Seconds of latency measured after the warm-up (default 60; --quick 15).")
  Integer latencySeconds;

  @Option(names = "--warmup-seconds", paramLabel = "S",
      description = "Seconds sent at the rate before latency counts (default 10; --quick 5).")
  Integer warmupSeconds;

  @Option(names = "--warmup-events", paramLabel = "N",
      description = "Before measuring, each contender under each guarantee runs once on this many"
          + " events, untimed, so that no contender pays the JVM's JIT warm-up for the others"
          + " (default 100,000; --quick 30,000; 0 to skip).")
  Integer warmupEvents;

  @Option(names = "--jit-settle-seconds", paramLabel = "S",
      description = "After its events, each warm-up run goes on sending at the rate until the"
          + " JVM's JIT compilers are idle (under 100 ms of compilation in 5 s) or for at most this"
          + " long: on 2 cores a busy C2 compiler takes a fourth of the CPU from what is measured"
          + " (default 120; --quick 30; 0 to skip).")
  Integer jitSettleSeconds;

  @Option(names = "--latencies", paramLabel = "FILE", hidden = true,
      description = "Also write each measured event's latency here (debugging): send offset ms,"
          + " latency ms, of which ms until scored_at; one line per event, per run appended.")
  Path latenciesFile;

  @Option(names = "--contenders", split = ",", paramLabel = "NAME",
      defaultValue = "pass_through,keyed_pass_through,vigil",
      description = "Which to run, in order. Default: ${DEFAULT-VALUE}.")
  List<String> contenders;

  @Option(names = "--guarantees", split = ",", paramLabel = "G",
      defaultValue = "at_least_once,exactly_once",
      description = "Delivery guarantees of every sink, in order. Default: ${DEFAULT-VALUE}.")
  List<String> guarantees;

  @Option(names = "--output", paramLabel = "FILE", description = "Also append the JSON lines here.")
  Path output;

  @Option(names = "--spec", defaultValue = "examples/features.yaml", paramLabel = "FILE",
      description = "The feature spec (the demo model's inputs). Default: ${DEFAULT-VALUE}.")
  Path specFile;

  @Option(names = "--cards", defaultValue = "10000", paramLabel = "N",
      description = "Cards of the generated payments. Default: ${DEFAULT-VALUE}.")
  int cards;

  @Option(names = "--parallelism", defaultValue = "1", paramLabel = "P",
      description = "Parallelism of every operator. Default: ${DEFAULT-VALUE}.")
  int parallelism;

  @Option(names = "--partitions", defaultValue = "4", paramLabel = "N",
      description = "Partitions of the input topic (records keyed by card_id, so a card's events"
          + " stay in one partition, in order); independent of --parallelism."
          + " Default: ${DEFAULT-VALUE}.")
  int partitions;

  @Option(names = "--checkpoint-interval-ms", paramLabel = "MS",
      description = "Checkpoint interval under at-least-once sinks, where scores do not wait for"
          + " checkpoints. Default: 10000, the job's own checkpoint.interval (and k8s/base's).")
  long checkpointIntervalMs = 10_000;

  @Option(names = "--exactly-once-checkpoint-interval-ms", paramLabel = "MS",
      description = "Checkpoint interval under exactly-once sinks: scores become visible at each"
          + " checkpoint, so this bounds their latency. Default: 250.")
  long exactlyOnceCheckpointIntervalMs = 250;

  @Option(names = "--buffer-timeout-ms", defaultValue = "2", paramLabel = "MS",
      description = "Flink's execution.buffer-timeout.interval (how long a network buffer may wait"
          + " to fill before it is sent), as docs/scoring-job.md has the cluster set it (Flink's"
          + " own default is 100 ms). Default: ${DEFAULT-VALUE}.")
  long bufferTimeoutMs;

  @Option(names = "--incremental-checkpoints", defaultValue = "true", arity = "1", paramLabel = "BOOL",
      description = "execution.checkpointing.incremental (RocksDB); true as k8s/base deploys."
          + " Default: ${DEFAULT-VALUE}.")
  boolean incremental;

  @Option(names = "--changelog",
      description = "The changelog state backend over RocksDB (state.changelog.enabled, changes"
          + " logged to files beside the checkpoints): checkpoints without RocksDB's synchronous"
          + " snapshot phase. Not deployed by k8s/ (see benchmarks/README.md).")
  boolean changelog;

  @Option(names = "--flink", paramLabel = "KEY=VALUE", hidden = true,
      description = "Any other Flink configuration of the job (experiments), e.g."
          + " --flink state.backend.rocksdb.writebuffer.size=4mb; repeatable.")
  Map<String, String> flinkExtra = new LinkedHashMap<>();

  @Option(names = "--job", paramLabel = "KEY=VALUE", hidden = true,
      description = "Any other key of the job's configuration (ScoringConfig; experiments), e.g."
          + " --job watermark.alignment.max-drift=1h; repeatable.")
  Map<String, String> jobExtra = new LinkedHashMap<>();

  @Option(names = "--state-backend", defaultValue = "rocksdb", hidden = true,
      description = "state.backend.type: rocksdb (as deployed) or hashmap (to see what RocksDB's"
          + " snapshots cost).")
  String stateBackend;

  @Option(names = "--object-reuse", hidden = true,
      description = "pipeline.object-reuse: true (not deployed; to see what the copies between"
          + " chained operators cost).")
  boolean objectReuse;

  @Option(names = "--broker", defaultValue = "process", paramLabel = "WHERE",
      description = "process (the broker in its own JVM) or in-process. Default: ${DEFAULT-VALUE}.")
  String brokerMode;

  @Option(names = "--time-cap-seconds", paramLabel = "S",
      description = "Give up waiting for the scores of a phase after this long (default 900;"
          + " --quick 120).")
  Integer capSeconds;

  /** The job's default {@code watermark.alignment.max-drift} (ScoringConfig, k8s/). */
  static final int DEPLOYED_MAX_DRIFT_SECONDS = 30;

  /**
   * The {@code watermark.alignment.max-drift} of the jobs: the deployed 30 s scaled by how much
   * faster than the wall clock the input's event time runs at the rate. A year of 10,000 cards'
   * payments sent at 5,000/s moves each partition's event time ~14,400 s per second, so 30 s of
   * event time is a few events of a partition: split alignment would pause partitions all the
   * time (p50 244 ms against 8 ms on one partition, for the stateless pass-through), which live
   * traffic, whose event time is the wall clock's, never does. Scaled, it is what 30 s is in
   * production: the same number of events ahead of the slowest partition.
   */
  private String alignmentDrift;

  /** One contender under one guarantee. */
  record Result(String contender, String guarantee, long events, double eventsPerSecond,
      double p50, double p99, boolean capped) {
    String json() {
      return String.format(Locale.ROOT,
          "{\"benchmark\":\"pipeline\",\"contender\":\"%s\",\"guarantee\":\"%s\",\"events\":%d,"
              + "\"events_per_second\":%.0f,\"latency_p50_ms\":%.1f,\"latency_p99_ms\":%.1f%s}",
          contender, guarantee, events, eventsPerSecond, p50, p99, capped ? ",\"capped\":true" : "");
    }
  }

  @Override
  public Integer call() throws Exception {
    for (String c : contenders) {
      if (!CONTENDERS.contains(c)) {
        throw new ParameterException(spec.commandLine(), "--contenders: unknown '" + c + "'; use "
            + String.join(", ", CONTENDERS));
      }
    }
    for (String g : guarantees) {
      if (!GUARANTEES.contains(g)) {
        throw new ParameterException(spec.commandLine(), "--guarantees: unknown '" + g + "'; use "
            + String.join(", ", GUARANTEES));
      }
    }
    if (!brokerMode.equals("process") && !brokerMode.equals("in-process")) {
      throw new ParameterException(spec.commandLine(), "--broker: '" + brokerMode
          + "' is not process or in-process");
    }
    if (checkpointIntervalMs <= 0 || exactlyOnceCheckpointIntervalMs <= 0) {
      throw new ParameterException(spec.commandLine(), "checkpoint intervals must be positive,"
          + " got " + checkpointIntervalMs + " and " + exactlyOnceCheckpointIntervalMs + " ms");
    }
    if (partitions < 1 || parallelism < 1) {
      throw new ParameterException(spec.commandLine(), "--partitions and --parallelism must be"
          + " positive, got " + partitions + " and " + parallelism);
    }
    if (bufferTimeoutMs < 0) {
      throw new ParameterException(spec.commandLine(), "--buffer-timeout-ms must be 0 or more,"
          + " got " + bufferTimeoutMs);
    }
    if (jitSettleSeconds != null && jitSettleSeconds < 0) {
      throw new ParameterException(spec.commandLine(), "--jit-settle-seconds must be 0 or more,"
          + " got " + jitSettleSeconds);
    }
    if (!Files.isRegularFile(specFile)) {
      throw new ParameterException(spec.commandLine(), "--spec: " + specFile + ": no such file");
    }
    int n = events != null ? events : quick ? 100_000 : 1_000_000;
    int measured = latencySeconds != null ? latencySeconds : quick ? 15 : 60;
    int warmup = warmupSeconds != null ? warmupSeconds : quick ? 5 : 10;
    int cap = capSeconds != null ? capSeconds : quick ? 120 : 900;
    int warm = (int) Math.round(rate * warmup);
    int paced = warm + (int) Math.round(rate * measured);
    CompiledSpec compiled = CompiledSpec.load(specFile);
    PrintWriter out = spec.commandLine().getOut();
    Path work = Files.createTempDirectory("vigil-bench-pipeline");
    AutoCloseable broker = null;
    ApicurioRegistry registry = null;
    try {
      Path model = DemoModel.extractTo(work.resolve("model"));
      long t0 = System.nanoTime();
      String bootstrap;
      if (brokerMode.equals("process")) {
        KafkaBrokerProcess b = KafkaBrokerProcess.start(Ports.free(), "1g");
        broker = b;
        bootstrap = b.bootstrapServers();
      } else {
        KafkaBroker b = KafkaBroker.start();
        broker = b;
        bootstrap = b.bootstrapServers();
      }
      registry = ApicurioRegistry.start();
      System.err.printf(Locale.ROOT, "bench pipeline: broker (%s) at %s, registry at %s, up in"
          + " %.1f s%n", brokerMode, bootstrap, registry.confluentApiUrl(),
          (System.nanoTime() - t0) / 1e9);
      int jit = warmupEvents != null ? warmupEvents : quick ? 30_000 : 100_000;
      int settleSeconds = jitSettleSeconds != null ? jitSettleSeconds : quick ? 30 : 120;
      int settleEvents = jit == 0 ? 0 : (int) Math.round(rate * settleSeconds);
      PipelineKafka.Input input = PipelineKafka.Input.generate(registry.confluentApiUrl(),
          Math.max(n + paced, jit + settleEvents), cards);
      System.err.printf(Locale.ROOT, "bench pipeline: %,d events pre-produced per job, then %,d"
          + " at %,.0f/s (latency after the first %d s); %,d cards; %d input partitions,"
          + " parallelism %d, RocksDB, checkpoints every %,d ms (at-least-once) and %,d ms"
          + " (exactly-once), buffer timeout %d ms%s%s%n", n, paced, rate, warmup, cards,
          partitions, parallelism, checkpointIntervalMs, exactlyOnceCheckpointIntervalMs,
          bufferTimeoutMs, objectReuse ? ", object reuse" : "", changelog ? ", changelog state backend" : "");
      alignmentDrift = jobExtra.getOrDefault("watermark.alignment.max-drift",
          Math.round(DEPLOYED_MAX_DRIFT_SECONDS * Math.max(1, input.compression(rate))) + "s");
      System.err.printf(Locale.ROOT, "bench pipeline: the input's event time runs %,.0fx the wall"
          + " clock at %,.0f/s; watermark.alignment.max-drift %s (the deployed %d s, as many"
          + " events)%n", input.compression(rate), rate, alignmentDrift,
          DEPLOYED_MAX_DRIFT_SECONDS);
      int runId = 0;
      if (jit > 0) {
        for (String guarantee : guarantees) {
          for (String contender : contenders) {
            System.err.printf(Locale.ROOT, "bench pipeline: warm-up (untimed): %s %s%n",
                contender, guarantee);
            run(++runId, contender, guarantee, bootstrap, registry.confluentApiUrl(), compiled,
                model, input, jit, -1, settleEvents, Duration.ofSeconds(cap), work);
          }
        }
      }
      for (String guarantee : guarantees) {
        for (String contender : contenders) {
          Result r = run(++runId, contender, guarantee, bootstrap, registry.confluentApiUrl(),
              compiled, model, input, n, warm, paced, Duration.ofSeconds(cap), work);
          out.println(r.json());
          out.flush();
          if (output != null) {
            Files.writeString(output, r.json() + "\n", StandardOpenOption.CREATE,
                StandardOpenOption.APPEND);
          }
        }
      }
      return 0;
    } finally {
      if (registry != null) {
        registry.close();
      }
      if (broker != null) {
        broker.close();
      }
      Harness.deleteTree(work);
    }
  }

  /**
   * One job: saturation on events {@code [0, n)}, then {@code paced} events at the rate, of which
   * the first {@code warm} are not measured. {@code warm < 0}: an untimed warm-up whose paced
   * events go on only until the JIT is idle ({@link #settleJit}); returns null.
   */
  Result run(int runId, String contender, String guarantee, String bootstrap, String registryUrl,
      CompiledSpec compiled, Path model, PipelineKafka.Input input, int n, int warm, int paced,
      Duration cap, Path work) throws Exception {
    String name = "bench" + runId + "." + contender + "." + guarantee;
    PipelineKafka.createTopic(bootstrap, name + ".in", partitions);
    for (String t : List.of(".scores", ".features", ".dead")) {
      PipelineKafka.createTopic(bootstrap, name + t, 1);
    }
    long t0 = System.nanoTime();
    PipelineKafka.produceAll(bootstrap, name + ".in", input, 0, n);
    System.err.printf(Locale.ROOT, "bench pipeline: %s %s: %,d events in %s in %.1f s%n",
        contender, guarantee, n, name + ".in", (System.nanoTime() - t0) / 1e9);

    Map<String, String> keys = new HashMap<>();
    keys.put("bootstrap.servers", bootstrap);
    keys.put("registry.url", registryUrl);
    keys.put("input.topic", name + ".in");
    keys.put("scores.topic", name + ".scores");
    keys.put("features.topic", name + ".features");
    keys.put("dead-letters.topic", name + ".dead");
    keys.put("group.id", name);
    keys.put("transactional.id.prefix", name);
    keys.put("spec", specFile.toString());
    keys.put("model", model.toString());
    keys.put("parallelism", Integer.toString(parallelism));
    keys.put("checkpoint.interval", (guarantee.equals("exactly_once")
        ? exactlyOnceCheckpointIntervalMs : checkpointIntervalMs) + "ms");
    keys.put("transaction.timeout", "1m");
    keys.put("checkpoint.timeout", "8s");
    keys.put("recovery.budget", "30s");
    keys.put("state.empty-start", "allow"); // a benchmark measures from empty state
    keys.put("starting.offsets", "earliest");
    keys.put("scores.delivery", guarantee);
    keys.put("features.delivery", guarantee);
    keys.put("dead-letters.delivery", guarantee);
    keys.put("watermark.alignment.max-drift", alignmentDrift);
    keys.putAll(jobExtra);
    ScoringConfig config = ScoringConfig.of(keys);

    Path chk = work.resolve("checkpoints-" + runId);
    Configuration flink = new Configuration();
    flink.setString("state.backend.type", stateBackend);
    flink.setString("execution.checkpointing.dir", chk.toUri().toString());
    // As deployed (k8s/base): incremental RocksDB checkpoints, unless told otherwise.
    flink.setString("execution.checkpointing.incremental", Boolean.toString(incremental));
    flink.setString("execution.checkpointing.num-retained", "1");
    flink.setString("parallelism.default", Integer.toString(parallelism));
    flink.setString("rest.bind-address", "127.0.0.1");
    flink.setString("execution.buffer-timeout.interval", bufferTimeoutMs + " ms");
    if (objectReuse) {
      flink.setString("pipeline.object-reuse", "true");
    }
    if (changelog) {
      flink.setString("state.changelog.enabled", "true");
      flink.setString("state.changelog.storage", "filesystem");
      flink.setString("state.changelog.dstl.dfs.base-path",
          work.resolve("changelog-" + runId).toUri().toString());
    }
    flinkExtra.forEach(flink::setString);
    StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(flink);
    if (contender.equals("vigil")) {
      ScoringJob.defineWorkflow(env, config, compiled, ScoringJob.source(env, config, null),
          Sinks.kafka(config));
    } else if (contender.equals("keyed_pass_through")) {
      KeyedPassThroughJob.defineWorkflow(env, config, compiled, ScoringJob.source(env, config,
          null), Sinks.kafka(config).scores());
    } else {
      PassThroughJob.defineWorkflow(env, config, compiled, ScoringJob.source(env, config, null),
          Sinks.kafka(config).scores());
    }

    int total = n + paced;
    try (PipelineKafka.ScoreWatcher watcher =
        new PipelineKafka.ScoreWatcher(bootstrap, config.scoresTopic(), total)) {
      JobClient job = env.executeAsync("bench pipeline " + contender + " " + guarantee);
      try {
        // (1) saturation
        boolean complete = await(job, watcher, n, cap, contender + " " + guarantee + " saturation");
        long seen = watcher.distinct();
        // From the first score written (its scored_at) to the last score visible to a
        // read_committed consumer: under exactly-once, the time before the first commit counts.
        long first = watcher.firstScoredNanos();
        long last = watcher.lastSeen(0, n);
        double seconds = (last - first) / 1e9;
        double perSecond = seen > 1 && seconds > 0 ? (seen - 1) / seconds : 0;
        System.err.printf(Locale.ROOT, "bench pipeline: %s %s: %,d scores visible, %.2f s from the"
            + " first written to the last visible (%,d in the first visible poll, %.2f s after"
            + " the first written): %,.0f events/s%n", contender, guarantee, seen, seconds,
            watcher.firstPollCount(), (watcher.firstPollNanos() - first) / 1e9, perSecond);
        if (!complete || paced == 0) {
          return new Result(contender, guarantee, seen, perSecond, Double.NaN, Double.NaN,
              !complete);
        }
        if (warm < 0) {
          settleJit(bootstrap, config.inputTopic(), input, n, paced, contender, guarantee);
          return null;
        }

        // (2) latency at a fixed rate, on the same (warm, caught-up) job
        long[] producedAt = new long[total];
        PipelineKafka.PacedProducer producer = new PipelineKafka.PacedProducer(bootstrap,
            config.inputTopic(), input, n, total, rate, producedAt);
        producer.start();
        boolean latencyComplete =
            await(job, watcher, total, cap.plus(Duration.ofSeconds((long) (paced / rate))),
                contender + " " + guarantee + " latency");
        producer.join();
        producer.check();
        // Per event with a visible score: the whole latency, and its two parts, until the job
        // scored it (Score.scored_at, wall clock in ms, so within a millisecond) and from then
        // until the score was visible.
        int counted = total - n - warm;
        double[] ms = new double[counted];
        double[] inJob = new double[counted];
        double[] after = new double[counted];
        double[] sentAt = new double[counted];
        int k = 0;
        for (int i = n + warm; i < total; i++) {
          if (watcher.seenAt[i] != 0) {
            sentAt[k] = (producedAt[i] - producedAt[n + warm]) / 1e6;
            ms[k] = (watcher.seenAt[i] - producedAt[i]) / 1e6;
            inJob[k] = (watcher.scoredNanos[i] - producedAt[i]) / 1e6;
            after[k++] = (watcher.seenAt[i] - watcher.scoredNanos[i]) / 1e6;
          }
        }
        ms = Arrays.copyOf(ms, k);
        inJob = Arrays.copyOf(inJob, k);
        after = Arrays.copyOf(after, k);
        sentAt = Arrays.copyOf(sentAt, k);
        if (latenciesFile != null) {
          writeLatencies(contender, guarantee, sentAt, ms, inJob);
        }
        Arrays.sort(ms);
        Arrays.sort(inJob);
        Arrays.sort(after);
        double p50 = percentile(ms, 0.50);
        double p99 = percentile(ms, 0.99);
        System.err.printf(Locale.ROOT, "bench pipeline: %s %s: sent at %,.0f/s; latency over %,d"
            + " events: p50 %.1f ms, p90 %.1f, p99 %.1f, p99.9 %.1f, max %.1f; duplicates %d%n",
            contender, guarantee, producer.achievedRate, k, p50, percentile(ms, 0.90), p99,
            percentile(ms, 0.999), k == 0 ? Double.NaN : ms[k - 1], watcher.duplicates());
        System.err.printf(Locale.ROOT, "bench pipeline: %s %s: of which sent -> scored p50 %.1f"
            + " ms, p99 %.1f; scored -> visible p50 %.1f, p99 %.1f%n", contender, guarantee,
            percentile(inJob, 0.50), percentile(inJob, 0.99), percentile(after, 0.50),
            percentile(after, 0.99));
        return new Result(contender, guarantee, seen, perSecond, p50, p99, !latencyComplete);
      } finally {
        job.cancel().get();
      }
    } finally {
      Harness.deleteTree(chk);
    }
  }

  /** Compilation time in the last 5 s below which the JIT counts as idle. */
  private static final long JIT_IDLE_MILLIS = 100;

  /**
   * Sends events {@code [from, from + count)} at the rate until the JIT compilers have been idle
   * for 5 s (under {@value #JIT_IDLE_MILLIS} ms of compilation in the last 5 s) or the events run
   * out. The saturation phase compiles the bulk paths; this compiles the paths of small batches,
   * timers and checkpoints, which C2 (one thread on 2 cores) otherwise compiles during the
   * measurement: it took 45% of a core in the latency phase, the job 30%.
   */
  private void settleJit(String bootstrap, String topic, PipelineKafka.Input input, int from,
      int count, String contender, String guarantee) throws InterruptedException {
    CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
    if (count == 0 || jit == null || !jit.isCompilationTimeMonitoringSupported()) {
      return;
    }
    PipelineKafka.PacedProducer producer = new PipelineKafka.PacedProducer(bootstrap, topic,
        input, from, from + count, rate, new long[from + count]);
    long start = System.nanoTime();
    producer.start();
    long[] window = new long[10]; // compile time at each of the last 10 half-seconds
    Arrays.fill(window, jit.getTotalCompilationTime());
    int samples = 0;
    long idle = -1;
    long last = -1;
    while (producer.isAlive()) {
      Thread.sleep(500);
      long now = jit.getTotalCompilationTime();
      long fiveSecondsAgo = window[samples % window.length];
      window[samples % window.length] = now;
      samples++;
      last = now - fiveSecondsAgo;
      if (samples >= window.length && last < JIT_IDLE_MILLIS) {
        idle = last;
        break;
      }
    }
    producer.halt();
    producer.join();
    producer.check();
    double seconds = (System.nanoTime() - start) / 1e9;
    double span = Math.min(samples, window.length) * 0.5;
    if (idle >= 0) {
      System.err.printf(Locale.ROOT, "bench pipeline: warm-up %s %s: JIT idle after %.0f s at"
          + " %,.0f/s (%d ms of compilation in the last %.1f s)%n", contender, guarantee,
          seconds, rate, idle, span);
    } else {
      System.err.printf(Locale.ROOT, "bench pipeline: warm-up %s %s: JIT still compiling after"
          + " %.0f s at %,.0f/s (%d ms of compilation in the last %.1f s; --jit-settle-seconds);"
          + " measuring anyway%n", contender, guarantee, seconds, rate, last, span);
    }
  }

  private void writeLatencies(String contender, String guarantee, double[] sentAt, double[] ms,
      double[] inJob) throws java.io.IOException {
    StringBuilder b = new StringBuilder();
    b.append("# ").append(contender).append(' ').append(guarantee)
        .append(": sent (ms after the first measured), latency ms, of which until scored_at ms\n");
    for (int k = 0; k < ms.length; k++) {
      b.append(String.format(Locale.ROOT, "%.3f %.3f %.3f%n", sentAt[k], ms[k], inJob[k]));
    }
    Files.writeString(latenciesFile, b, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  /** Waits until {@code target} events have a visible score; false at the cap. */
  private static boolean await(JobClient job, PipelineKafka.ScoreWatcher watcher, long target,
      Duration cap, String what) throws Exception {
    long start = System.nanoTime();
    long lastPrint = start;
    while (watcher.distinct() < target) {
      Thread.sleep(20);
      JobStatus status = job.getJobStatus().get();
      if (status.isGloballyTerminalState()) {
        job.getJobExecutionResult().get(); // throws the failure
        throw new IllegalStateException(what + ": the job ended early (" + status + ")");
      }
      long now = System.nanoTime();
      if (now - start > cap.toNanos()) {
        System.err.printf(Locale.ROOT, "bench pipeline: %s: only %,d of %,d scores after %d s%n",
            what, watcher.distinct(), target, cap.toSeconds());
        return false;
      }
      if (now - lastPrint > 10_000_000_000L) {
        lastPrint = now;
        System.err.printf(Locale.ROOT, "bench pipeline: %s: %,d / %,d scores%n", what,
            watcher.distinct(), target);
      }
    }
    return true;
  }

  /** The nearest-rank percentile of sorted values (NaN if none). */
  static double percentile(double[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }
}
