package dev.vigil.localenv;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.avro.Transaction;
import dev.vigil.infra.kafka.KafkaBroker;
import dev.vigil.infra.registry.ApicurioRegistry;
import dev.vigil.localenv.cluster.ClusterJobs;
import dev.vigil.localenv.cluster.StandaloneCluster;
import dev.vigil.models.demo.DemoModel;
import dev.vigil.models.demo.FraudGenerator;
import dev.vigil.models.demo.WriteDemoData;
import dev.vigil.statetools.AddFeature;
import dev.vigil.schemas.registry.SchemaRegistryClient;
import dev.vigil.schemas.serde.AvroWireSerializer;
import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.offline.PointInTimeEvaluator;
import dev.vigil.transforms.spec.CompiledSpec;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The shaded {@code jobs/target/vigil-jobs.jar} on a real multi-process Flink cluster ({@link
 * StandaloneCluster}: 1 JobManager + 2 TaskManager JVMs), submitted through the REST API exactly
 * as docs/cluster.md shows, against a real broker (input topic with 4 partitions keyed by card)
 * and the Apicurio registry:
 *
 * <ol>
 *   <li>the job runs at parallelism 2 while live payments (with bad records) stream in;
 *   <li>a TaskManager process that holds tasks is SIGKILLed, a replacement process starts, the job
 *       recovers from its last checkpoint;
 *   <li>stop-with-savepoint; {@code state add-feature} gives that job's savepoint one more
 *       merchant feature (history: the live payments, cut per key where the job left it); the same
 *       jar restored from it at parallelism 4 with the new spec;
 *   <li>a model hot swap while it runs (a new model file in the watched directory);
 *   <li>stop-with-savepoint again, restored at parallelism 2 (4 → 2);
 *   <li>meanwhile the TaskManagers' Prometheus endpoints are scraped: Vigil's metrics are there
 *       and move;
 *   <li>read_committed: every valid payment has exactly one Score and one FeatureVector, every bad
 *       record exactly one dead letter with its reason; every feature equals the offline
 *       point-in-time evaluation, the added one too wherever a restored job computed it.
 * </ol>
 *
 * Every process is stopped in the {@code finally}, on success and failure alike (and by their
 * parent watch if this JVM dies).
 */
class ClusterITCase {
  static final Path JOBS_JAR = Path.of(System.getProperty("vigil.jobs.jar",
      "../jobs/target/vigil-jobs.jar"));
  static final Path SPEC = Path.of("..", "examples", "features.yaml").toAbsolutePath().normalize();
  /** The feature that the upgrade adds (to the merchant, the last entity of the chain). */
  static final String ADDED = "merchant_amount_sum_6h";
  static final int VALID = 4_500;
  static final int BAD = 28; // four of each class
  static final double RATE = 100; // records per second: the stream outlasts the kill and rescale
  static final int CARDS = 200;

  @TempDir Path dir;

  @Test
  @Timeout(value = 8, unit = TimeUnit.MINUTES)
  void aKilledTaskManagerAndARescaleFromASavepointLeaveEveryRecordScoredOrDeadLetteredOnce()
      throws Exception {
    long t0 = System.nanoTime();
    Deque<AutoCloseable> open = new ConcurrentLinkedDeque<>();
    List<CompletableFuture<?>> starting = new ArrayList<>();
    DemoKafka.PacedProducer producer = null;
    DemoKafka.Results results = null;
    try {
      CompletableFuture<ApicurioRegistry> registryStart = CompletableFuture.supplyAsync(
          () -> opened(open, ApicurioRegistry.start()));
      CompletableFuture<StandaloneCluster> clusterStart = CompletableFuture.supplyAsync(
          () -> opened(open, StandaloneCluster.start(
              StandaloneCluster.Options.defaults(dir.resolve("cluster")))));
      starting.add(registryStart);
      starting.add(clusterStart);
      KafkaBroker broker = opened(open, KafkaBroker.start());
      ApicurioRegistry registryProcess = registryStart.join();
      StandaloneCluster cluster = clusterStart.join();
      double upSeconds = seconds(t0);
      assertThat(cluster.taskManagers()).hasSize(2);
      assertThat(cluster.taskManagers()).allMatch(n -> n.process().isAlive());

      String bootstrap = broker.bootstrapServers();
      SchemaRegistryClient registry = SchemaRegistryClient.of(registryProcess.confluentApiUrl());
      AvroWireSerializer<Transaction> serializer =
          AvroWireSerializer.forSpecific(registry, DemoCommand.SUBJECT, Transaction.class);
      Map<String, Integer> topics = new LinkedHashMap<>();
      topics.put(DemoCommand.INPUT, 4);
      topics.put(DemoCommand.SCORES, 1);
      topics.put(DemoCommand.FEATURES, 1);
      topics.put(DemoCommand.DEAD_LETTERS, 1);
      DemoKafka.createTopics(bootstrap, topics);
      // Six hours of event time: longer than the merchant feature's window, so its tiles are
      // evicted on the way, and a merchant's events come from all four partitions.
      Duration span = Duration.ofHours(6);
      Instant cutover = Instant.now().minus(span).minus(Duration.ofMinutes(5))
          .truncatedTo(ChronoUnit.SECONDS);
      LiveStream live = LiveStream.build(7, CARDS, cutover, span, VALID, BAD, serializer);
      int total = live.records.size();
      Set<String> all = DemoCommand.sample(VALID, VALID, 7);
      // the watched directory: a newer model file in it is swapped in (step 4)
      Path model = DemoModel.extractTo(dir.resolve("model")).getParent();

      // (1) the jar through the REST API, at parallelism 2
      long s = System.nanoTime();
      ClusterJobs jobs = new ClusterJobs(cluster.restUrl());
      String jarId = jobs.uploadJar(JOBS_JAR);
      String first = jobs.run(jarId, ClusterJobs.Run.of("dev.vigil.jobs.ScoringJob",
          args(bootstrap, registryProcess.confluentApiUrl(), model, 2), 2));
      jobs.awaitAllTasksRunning(first, Duration.ofSeconds(90));
      double submitSeconds = seconds(s);

      producer = new DemoKafka.PacedProducer(bootstrap, DemoCommand.INPUT, live, RATE);
      results = new DemoKafka.Results(bootstrap, DemoCommand.SCORES, DemoCommand.FEATURES,
          DemoCommand.DEAD_LETTERS, registry, VALID, all, producer);
      results.start();
      // Each of the three jobs gets a share of the stream, however slow the machine: the
      // producer holds at half until the upgraded job runs, then at four fifths until the last.
      producer.holdAt(total / 2);
      producer.start();

      // (2) SIGKILL a TaskManager that holds tasks, once checkpoints have completed
      awaitAccounted(results, producer, jobs, first, total / 4, Duration.ofSeconds(90));
      while (jobs.completedCheckpoints(first) < 2) {
        Thread.sleep(100); // polling the checkpoint count
      }
      int victim = cluster.taskManagerWithTasks();
      assertThat(victim).as("a TaskManager that holds tasks").isNotNegative();
      StandaloneCluster.Node killed = cluster.killTaskManager(victim);
      long killedAt = System.nanoTime();
      assertThat(killed.process().isAlive()).isFalse();
      long accountedAtKill = results.scored.get() + results.deadLetters.get();
      cluster.startTaskManager();
      cluster.awaitTaskManagers(2, Duration.ofSeconds(60));
      jobs.awaitAllTasksRunning(first, Duration.ofSeconds(120));
      double recoverySeconds = seconds(killedAt);

      // (3) stop with a savepoint; one more feature; restore at parallelism 4 with it
      awaitAccounted(results, producer, jobs, first, total * 2 / 5, Duration.ofSeconds(120));
      s = System.nanoTime();
      Path savepoints = dir.resolve("cluster").resolve("savepoints");
      String savepoint = jobs.stopWithSavepoint(first, savepoints.toUri().toString(),
          Duration.ofSeconds(120));
      assertThat(jobs.awaitTerminal(first, Duration.ofSeconds(60))).isEqualTo("FINISHED");
      long accountedAtSavepoint = results.scored.get() + results.deadLetters.get();
      Path newSpec = withAddedFeature(dir.resolve("features-v2.yaml"));
      Path history = dir.resolve("history");
      WriteDemoData.write(java.util.Arrays.stream(live.valid)
          .map(t -> new FraudGenerator.Labelled(t, false, "")).iterator(), history);
      Path upgraded = dir.resolve("upgraded-savepoint");
      AddFeature.Summary added = AddFeature.run(Path.of(URI.create(savepoint)),
          CompiledSpec.load(newSpec), history.resolve("transactions.jsonl"), upgraded, 2, false,
          System.err, new AddFeature.JobSavepoint(CompiledSpec.load(SPEC),
              Duration.ofHours(24).toMillis()));
      assertThat(added.entities()).containsEntry("card", "carried")
          .containsEntry("merchant", "rebuilt");
      double upgradeSeconds = seconds(s);
      s = System.nanoTime();
      String second = jobs.run(jarId, ClusterJobs.Run.of("dev.vigil.jobs.ScoringJob",
              args(bootstrap, registryProcess.confluentApiUrl(), model, 4, newSpec), 4)
          .fromSavepoint(upgraded.toUri().toString(), false));
      jobs.awaitAllTasksRunning(second, Duration.ofSeconds(120));
      double rescaleSeconds = seconds(s);
      assertThat(maxParallelism(jobs, second)).as("the restored job's parallelism").isEqualTo(4);

      // (4) Prometheus, and a model hot swap, while the restored job works on
      producer.holdAt(total * 4 / 5);
      Map<String, Double> early = scrapeVigil(cluster, second);
      awaitAccounted(results, producer, jobs, second, total * 3 / 5, Duration.ofSeconds(120));
      Path staged = Files.writeString(dir.resolve("fraud-demo-v2.json.tmp"), new String(
          DemoModel.bytes(), java.nio.charset.StandardCharsets.UTF_8)
          .replace("\"base_score\":\"[4.1023374E-2]\"", "\"base_score\":\"[5E-2]\""));
      Files.move(staged, model.resolve("fraud-demo-v2.json"), StandardCopyOption.ATOMIC_MOVE);
      long swapDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
      Map<String, Double> swapped = scrapeVigil(cluster, second);
      while (swapped.getOrDefault(P + "model_swaps", 0.0) < 4
          && System.nanoTime() < swapDeadline) {
        Thread.sleep(500); // the model location is polled every second
        swapped = scrapeVigil(cluster, second);
      }
      assertThat(swapped.getOrDefault(P + "model_swaps", 0.0)).as("model swaps (one per"
          + " scoring subtask), model_refusals %s", swapped.get(P + "model_refusals"))
          .isEqualTo(4.0);

      // (5) stop with a savepoint again, restore at parallelism 2
      awaitAccounted(results, producer, jobs, second, total * 7 / 10, Duration.ofSeconds(120));
      Map<String, Double> late = scrapeVigil(cluster, second);
      s = System.nanoTime();
      String savepoint2 = jobs.stopWithSavepoint(second, savepoints.toUri().toString(),
          Duration.ofSeconds(120));
      assertThat(jobs.awaitTerminal(second, Duration.ofSeconds(60))).isEqualTo("FINISHED");
      String third = jobs.run(jarId, ClusterJobs.Run.of("dev.vigil.jobs.ScoringJob",
              args(bootstrap, registryProcess.confluentApiUrl(), model, 2, newSpec), 2)
          .fromSavepoint(savepoint2, false));
      jobs.awaitAllTasksRunning(third, Duration.ofSeconds(120));
      double downscaleSeconds = seconds(s);
      assertThat(maxParallelism(jobs, third)).as("the last job's parallelism").isEqualTo(2);
      producer.holdAt(Integer.MAX_VALUE);
      awaitAccounted(results, producer, jobs, third, total, Duration.ofSeconds(150));
      long vectorsDeadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
      while (!results.sampledVectorsComplete() && System.nanoTime() < vectorsDeadline) {
        Thread.sleep(100); // the feature-vector sink commits on its own checkpoint cycle
      }
      double streamSeconds = (System.nanoTime() - producer.startNanos) / 1e9;

      // (5) exactly once
      results.check();
      producer.check();
      assertThat(producer.sent.get()).isEqualTo(total);
      List<Integer> unscored = new ArrayList<>();
      for (int i = 0; i < VALID && unscored.size() < 20; i++) {
        if (results.scoreCount[i] == 0) {
          unscored.add(i);
        }
      }
      assertThat(results.scored.get()).as("valid payments scored (dead letters by reason %s;"
          + " the first unscored valid indexes %s)", results.deadByReason, unscored)
          .isEqualTo(VALID);
      assertThat(results.duplicates.get()).as("ids with more than one Score").isZero();
      assertThat(results.unexpected.get()).as("scores or vectors never expected, or repeated")
          .isZero();
      assertThat(results.deadLetters.get()).as("dead letters").isEqualTo(BAD);
      for (LiveStream.Bad b : LiveStream.Bad.values()) {
        assertThat(results.deadByReason.getOrDefault(b.reason, new java.util.concurrent.atomic
            .AtomicLong()).get()).as("dead letters %s", b.reason).isEqualTo(live.badCount(b));
      }
      assertThat(results.sampledVectors).as("one FeatureVector per valid payment").hasSize(VALID);

      // The run-time reconciliation on the TaskManagers' Prometheus endpoints, as of a checkpoint
      // of the last job: per partition, every record read by the three jobs (the counts carried
      // through both savepoints and rescales) scored, dead-lettered or still waiting.
      Map<Integer, long[]> reconciled = awaitReconciled(cluster, third, total,
          Duration.ofSeconds(60));
      assertThat(reconciled.keySet()).as("input partitions reconciled").containsExactly(0, 1, 2, 3);
      assertThat(reconciled.values().stream().mapToLong(c -> c[1]).sum()).as("scored")
          .isEqualTo(VALID);
      assertThat(reconciled.values().stream().mapToLong(c -> c[2]).sum()).as("dead-lettered")
          .isEqualTo(BAD);
      // Keys per entity: RocksDB's estimate for each feature stage's state (k8s/base's settings).
      Map<String, Double> keys = new TreeMap<>();
      for (String body : scrapeBodies(cluster)) {
        for (String line : body.split("\n")) {
          Matcher m = KEY_COUNT.matcher(line);
          if (m.matches() && line.contains("job_id=\"" + third + "\"")) {
            keys.merge(m.group(1) + " " + m.group(2), Double.parseDouble(m.group(3)),
                Double::sum);
          }
        }
      }
      System.err.println("ClusterITCase: RocksDB key estimates (metric operator_name): " + keys);
      assertThat(keys.entrySet()).as("estimate_num_keys of the feature stages' state: %s", keys)
          .anySatisfy(e -> assertThat(e.getKey()).contains("card"))
          .anySatisfy(e -> assertThat(e.getKey()).contains("merchant"))
          .allSatisfy(e -> assertThat(e.getValue()).isPositive());

      // Every feature of both entities equals the offline point-in-time value (the events in
      // event-time order), across the kill, the upgrade and both rescales: the card stage takes
      // each card's events in partition order, the merchant stage in event-time order as of 2 s
      // before. The added feature is in the vectors of the restored jobs, and equals too.
      CompiledSpec spec = CompiledSpec.load(newSpec);
      PointInTimeEvaluator offline = new PointInTimeEvaluator(spec);
      List<String> names = spec.spec().featureNames();
      List<String> mismatches = new ArrayList<>();
      long withAdded = 0;
      Transaction[] byTime = live.valid.clone();
      java.util.Arrays.sort(byTime, java.util.Comparator.comparing(Transaction::getEventTime));
      for (Transaction t : byTime) {
        FeatureRow want = offline.process(t);
        Map<String, Object> got = results.sampledVectors.get(t.getTransactionId().toString());
        if (got.containsKey(ADDED)) {
          withAdded++;
        }
        for (int i = 0; i < names.size(); i++) {
          if (names.get(i).equals(ADDED) && !got.containsKey(ADDED)) {
            continue; // scored by the first job, before the upgrade
          }
          if (!Consistency.equal(got.get(names.get(i)), want.values()[i])
              && mismatches.size() < 10) {
            mismatches.add(t.getTransactionId() + " " + names.get(i) + ": streamed "
                + got.get(names.get(i)) + ", offline " + want.values()[i]);
          }
        }
      }
      assertThat(mismatches).as("features that differ from the offline evaluation").isEmpty();
      assertThat(withAdded).as("vectors with the added feature (the restored jobs' share); the"
          + " last event's vector: %s", results.sampledVectors.get(
              byTime[byTime.length - 1].getTransactionId().toString()))
          .isGreaterThan(VALID / 4);

      // Vigil's metrics on the TaskManagers' Prometheus endpoints: there, and moving.
      String p = P;
      assertThat(early).containsKeys(p + "scored", p + "features_card_duplicates",
          p + "features_card_late", p + "features_merchant_late",
          p + "features_card_out_of_order", p + "features_card_cache_hit_ratio",
          p + "features_merchant_cache_hits", p + "features_merchant_watermark_lag_ms",
          p + "scoring_latency_ms_count");
      assertThat(late.get(p + "features_card_cache_hits") + late.get(p
          + "features_card_cache_misses")).as("card state reads, restored job")
          .isGreaterThan(early.get(p + "features_card_cache_hits") + early.get(p
              + "features_card_cache_misses"));
      assertThat(late.get(p + "features_merchant_watermark_lag_ms"))
          .as("the merchant stage's watermark lag (ms, summed over subtasks)").isNotNegative();
      for (LiveStream.Bad b : LiveStream.Bad.values()) {
        assertThat(early).containsKey(p + "dead_letters_" + b.reason);
      }
      assertThat(late.get(p + "scored")).as("vigil scored, restored job: first scrape %s", early)
          .isGreaterThan(early.get(p + "scored"));
      double deadLate = late.entrySet().stream().filter(e -> e.getKey().startsWith(
          p + "dead_letters_")).mapToDouble(Map.Entry::getValue).sum();
      // Bad records come at random places: between two scrapes there may be none, so only that
      // the restored job counted some (its counters start at zero).
      assertThat(deadLate).as("dead letters counted by the restored job").isPositive();

      jobs.cancel(third);
      assertThat(jobs.awaitTerminal(third, Duration.ofSeconds(60))).isEqualTo("CANCELED");
      System.err.printf(Locale.ROOT, "ClusterITCase: infra + cluster up %.1f s, jar uploaded and"
              + " running %.1f s, kill -> replacement registered and job running again %.1f s"
              + " (%d results visible at the kill), stop-with-savepoint + add-feature %.1f s"
              + " (%d results visible at the savepoint), -> running at parallelism 4 %.1f s,"
              + " stop-with-savepoint -> running at parallelism 2 %.1f s, %d records streamed"
              + " over %.1f s, total %.1f s%n", upSeconds, submitSeconds, recoverySeconds,
          accountedAtKill, upgradeSeconds, accountedAtSavepoint, rescaleSeconds,
          downscaleSeconds, total, streamSeconds, seconds(t0));
    } finally {
      if (producer != null) {
        producer.interrupt();
      }
      if (results != null) {
        results.shutdown();
      }
      for (CompletableFuture<?> f : starting) {
        try {
          f.join();
        } catch (RuntimeException e) {
          // reported by the join above; what did start is in `open`
        }
      }
      AutoCloseable c;
      while ((c = open.pollLast()) != null) {
        c.close();
      }
    }
    assertNoProcessLeft();
  }

  static final String P = "flink_taskmanager_job_task_operator_vigil_";

  /** The example spec with {@link #ADDED}; the model's inputs stay the example's. */
  static Path withAddedFeature(Path to) throws Exception {
    CompiledSpec example = CompiledSpec.load(SPEC);
    String text = Files.readString(SPEC);
    String last = "  - {name: merchant_txn_count_1h,";
    int at = text.indexOf('\n', text.indexOf(last)) + 1;
    String inputs = String.join(", ", example.spec().modelInputs());
    text = text.substring(0, at) + "  - {name: " + ADDED + ", entity: merchant, aggregation: sum,"
        + " field: amount_cents, window: 6h}\n" + text.substring(at)
        .replace("  name: fraud-demo", "  name: fraud-demo\n  inputs: [" + inputs + "]");
    return Files.writeString(to, text);
  }

  private static int maxParallelism(ClusterJobs jobs, String job) {
    int max = 0;
    for (JsonNode v : jobs.details(job).path("vertices")) {
      max = Math.max(max, v.path("parallelism").asInt());
    }
    return max;
  }

  static List<String> args(String bootstrap, String registry, Path model, int parallelism) {
    return args(bootstrap, registry, model, parallelism, SPEC);
  }

  /** The scoring job's arguments: the demo's settings, on this run's broker and registry. */
  static List<String> args(String bootstrap, String registry, Path model, int parallelism,
      Path spec) {
    Map<String, String> keys = new LinkedHashMap<>();
    keys.put("bootstrap.servers", bootstrap);
    keys.put("registry.url", registry);
    keys.put("input.topic", DemoCommand.INPUT);
    keys.put("scores.topic", DemoCommand.SCORES);
    keys.put("features.topic", DemoCommand.FEATURES);
    keys.put("dead-letters.topic", DemoCommand.DEAD_LETTERS);
    keys.put("group.id", "vigil-cluster-it");
    keys.put("transactional.id.prefix", "vigil-cluster-it");
    keys.put("spec", spec.toString());
    keys.put("model.poll.interval", "1s");
    keys.put("model", model.toAbsolutePath().toString());
    keys.put("parallelism", Integer.toString(parallelism));
    keys.put("max.parallelism", Integer.toString(OperatorUids.DEFAULT_MAX_PARALLELISM));
    keys.put("checkpoint.interval", "1s");
    keys.put("transaction.timeout", "1m");
    keys.put("checkpoint.timeout", "8s");
    keys.put("recovery.budget", "30s");
    keys.put("state.empty-start", "allow"); // the first job starts without a savepoint
    keys.put("starting.offsets", "earliest");
    List<String> args = new ArrayList<>();
    keys.forEach((k, v) -> {
      args.add("--" + k);
      args.add(v);
    });
    return args;
  }

  private static <T extends AutoCloseable> T opened(Deque<AutoCloseable> open, T c) {
    open.add(c);
    return c;
  }

  private static double seconds(long since) {
    return (System.nanoTime() - since) / 1e9;
  }

  /** Until {@code n} records have a visible result; fails early if the job or a thread failed. */
  private static void awaitAccounted(DemoKafka.Results results, DemoKafka.PacedProducer producer,
      ClusterJobs jobs, String job, long n, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long lastStatusCheck = 0;
    while (results.scored.get() + results.deadLetters.get() < n) {
      results.check();
      producer.check();
      if (System.nanoTime() > deadline) {
        throw new AssertionError("only " + (results.scored.get() + results.deadLetters.get())
            + " of " + n + " records had a visible result after " + timeout.toSeconds()
            + " s (" + producer.sent.get() + " sent); job " + job + " is " + jobs.status(job)
            + ", last failure: " + jobs.rootException(job));
      }
      if (System.nanoTime() - lastStatusCheck > TimeUnit.SECONDS.toNanos(2)) {
        String status = jobs.status(job);
        if (List.of("FAILED", "CANCELED", "FINISHED").contains(status)) {
          throw new AssertionError("job " + job + " is " + status + ": " + jobs.rootException(job));
        }
        lastStatusCheck = System.nanoTime();
      }
      Thread.sleep(50); // polling the results reader's counters
    }
  }

  private static final Pattern SAMPLE =
      Pattern.compile("^(flink_taskmanager_job_task_operator_vigil_\\w+)\\{([^}]*)\\} (\\S+)$");

  /** Vigil's metrics of {@code job} on every live TaskManager's /metrics, summed over subtasks. */
  private static Map<String, Double> scrapeVigil(StandaloneCluster cluster, String job)
      throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    Map<String, Double> sums = new TreeMap<>();
    for (StandaloneCluster.Node tm : cluster.taskManagers()) {
      String body = http.send(HttpRequest.newBuilder(URI.create(tm.metricsUrl()))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body();
      for (String line : body.split("\n")) {
        Matcher m = SAMPLE.matcher(line);
        if (m.matches() && m.group(2).contains("job_id=\"" + job + "\"")) {
          sums.merge(m.group(1), Double.parseDouble(m.group(3)), Double::sum);
        }
      }
    }
    return sums;
  }

  private static final Pattern RECONCILE = Pattern.compile("^" + P + "reconcile_partition_"
      + "(in|scored|dead_lettered|in_flight)\\{([^}]*)\\} (\\S+)$");
  private static final Pattern RECONCILE_CHECKPOINT =
      Pattern.compile("^" + P + "reconcile_\\w+_checkpoint\\{([^}]*)\\} (\\S+)$");
  /** RocksDB's key estimate of a feature stage's state: metric name, operator, value. */
  private static final Pattern KEY_COUNT = Pattern.compile("^(flink_taskmanager_job_task_operator_"
      + "\\w*estimate_num_keys)\\{(?=[^}]*column_family=\"features\")[^}]*operator_name=\""
      + "([^\"]*)\"[^}]*\\} (\\S+)$");
  private static final Pattern PARTITION = Pattern.compile("partition=\"(\\d+)\"");
  private static final List<String> TERMS = List.of("in", "scored", "dead_lettered", "in_flight");

  /**
   * Polls the reconciliation gauges of {@code job} on every TaskManager until, as of one
   * checkpoint, {@code in} records were read; per partition {@code [in, scored, dead_lettered,
   * in_flight]}. A reading counts only when every operator shows the same checkpoint in two
   * scrapes running (a checkpoint completing in between would mix two); each such reading must
   * add up.
   */
  private static Map<Integer, long[]> awaitReconciled(StandaloneCluster cluster, String job,
      long in, Duration timeout) throws Exception {
    long deadline = System.nanoTime() + timeout.toNanos();
    String last = "none";
    while (System.nanoTime() < deadline) {
      List<String> first = scrapeBodies(cluster);
      List<String> second = scrapeBodies(cluster);
      java.util.Set<Double> checkpoints = new java.util.HashSet<>();
      Map<Integer, long[]> counts = new TreeMap<>();
      Map<Integer, long[]> again = new TreeMap<>();
      reconcile(first, job, checkpoints, counts);
      reconcile(second, job, checkpoints, again);
      if (checkpoints.size() == 1 && !checkpoints.contains(0.0)
          && java.util.Arrays.deepEquals(counts.values().toArray(), again.values().toArray())) {
        StringBuilder reading = new StringBuilder("checkpoint " + checkpoints);
        counts.forEach((p, c) -> reading.append(", partition ").append(p).append(" ")
            .append(java.util.Arrays.toString(c)));
        last = reading.toString();
        for (Map.Entry<Integer, long[]> e : counts.entrySet()) {
          long[] c = e.getValue();
          assertThat(c[0] - c[1] - c[2] - c[3]).as("records of partition %d read - scored -"
              + " dead-lettered - in flight (%s)", e.getKey(), last).isZero();
        }
        if (counts.values().stream().mapToLong(c -> c[0]).sum() == in) {
          return counts;
        }
      }
      Thread.sleep(500); // polling the next checkpoint's gauges
    }
    throw new AssertionError("the reconciliation gauges of job " + job + " did not reach " + in
        + " records read within " + timeout.toSeconds() + " s; last consistent reading: " + last);
  }

  private static List<String> scrapeBodies(StandaloneCluster cluster) throws Exception {
    HttpClient http = HttpClient.newHttpClient();
    List<String> bodies = new ArrayList<>();
    for (StandaloneCluster.Node tm : cluster.taskManagers()) {
      bodies.add(http.send(HttpRequest.newBuilder(URI.create(tm.metricsUrl()))
          .timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString()).body());
    }
    return bodies;
  }

  private static void reconcile(List<String> bodies, String job, java.util.Set<Double> checkpoints,
      Map<Integer, long[]> counts) {
    for (String body : bodies) {
      for (String line : body.split("\n")) {
        if (!line.contains("job_id=\"" + job + "\"")) {
          continue;
        }
        Matcher c = RECONCILE_CHECKPOINT.matcher(line);
        if (c.matches()) {
          checkpoints.add(Double.parseDouble(c.group(2)));
          continue;
        }
        Matcher m = RECONCILE.matcher(line);
        if (m.matches()) {
          Matcher p = PARTITION.matcher(m.group(2));
          assertThat(p.find()).as("a partition label in %s", line).isTrue();
          counts.computeIfAbsent(Integer.parseInt(p.group(1)), k -> new long[4])
              [TERMS.indexOf(m.group(1))] += (long) Double.parseDouble(m.group(3));
        }
      }
    }
  }

  /** No JobManager or TaskManager process of this test's work dir is alive. */
  private void assertNoProcessLeft() {
    String marker = "-Dvigil.cluster.dir=" + dir.resolve("cluster").toAbsolutePath().normalize();
    Set<Long> left = new HashSet<>();
    ProcessHandle.allProcesses().forEach(h -> {
      try {
        Path cmdline = Path.of("/proc", Long.toString(h.pid()), "cmdline");
        if (java.nio.file.Files.isReadable(cmdline) && List.of(java.nio.file.Files
            .readString(cmdline).split("\0")).contains(marker)) {
          left.add(h.pid());
        }
      } catch (Exception e) {
        // gone meanwhile
      }
    });
    assertThat(left).as("cluster processes still alive").isEmpty();
  }
}
