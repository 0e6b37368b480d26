package dev.vigil.benchmarks;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.flink.FeatureEvent;
import dev.vigil.transforms.flink.FeaturePipeline;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.FeatureSpec;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.core.execution.SavepointFormatType;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.table.api.Schema;
import org.apache.flink.table.api.Table;
import org.apache.flink.table.api.bridge.java.StreamTableEnvironment;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vigil bench features}: Vigil's feature operators (every card feature of the example spec)
 * against Flink's own ways to compute only the 365-day count, and a pass-through ceiling. Same
 * input, same JVM, RocksDB, parallelism 1, one contender after the other. One JSON line each.
 */
@Command(
    name = "features",
    mixinStandardHelpOptions = true,
    sortOptions = false,
    description = {
      "Vigil's card features vs a 365-day DataStream sliding window, Flink SQL COUNT(*) OVER 365"
          + " days, and a pass-through ceiling: events/s and state per card (a canonical savepoint after the year).",
      "One JSON line per contender on standard output; progress on standard error."
    })
public final class FeaturesBenchmark implements Callable<Integer> {
  static final String CARD_SPEC =
      "source: {subject: payments.transactions-value, event_time: event_time}\n"
          // Arrival order, as the example's card: one keyed stage over a time-ordered generator,
          // so the stage applies each event as it comes (an event-time stage would wait for a
          // watermark this source does not send).
          + "entities: {card: {key: card_id, ordering: arrival}}\n"
          + "features:\n"
          + "  - {name: card_txn_count_365d,        entity: card, aggregation: count, window: 365d}\n"
          + "  - {name: card_amount_sum_30d,        entity: card, aggregation: sum, field: amount_cents, window: 30d}\n"
          + "  - {name: card_amount_max_24h,        entity: card, aggregation: max, field: amount_cents, window: 24h, resolution: 1h}\n"
          + "  - {name: card_distinct_merchants_7d, entity: card, aggregation: distinct_count, field: merchant_id, window: 7d}\n"
          + "  - {name: card_ms_since_last,         entity: card, aggregation: time_since_last}\n"
          + "  - {name: card_ms_since_first,        entity: card, aggregation: time_since_first}\n";

  @Spec CommandSpec spec;

  @Option(names = "--quick", description = "1,000 cards and short caps: finishes in under 3 minutes.")
  boolean quick;

  @Option(names = "--cards", paramLabel = "N", description = "Cards (default 10,000; --quick 1,000).")
  Integer cards;

  @Option(names = "--days", defaultValue = "365", paramLabel = "D", description = "Days of history. Default: ${DEFAULT-VALUE}.")
  int days;

  @Option(names = "--events-per-card-per-day", defaultValue = "3", paramLabel = "R",
      description = "Default: ${DEFAULT-VALUE}.")
  double perCardPerDay;

  @Option(names = "--time-cap-seconds", paramLabel = "S",
      description = "Stop a contender after this long (default 300; --quick 20).")
  Integer capSeconds;

  @Option(names = "--state-cards", paramLabel = "N",
      description = "Cards of the full-year state-only run for a contender stopped by the cap"
          + " (default 100; --quick 10; 0 to skip).")
  Integer stateCards;

  @Option(names = "--contenders", split = ",", paramLabel = "NAME",
      defaultValue = "pass_through,vigil,sql_over,sliding_window",
      description = "Which to run, in order. Default: ${DEFAULT-VALUE}.")
  List<String> contenders;

  @Option(names = "--output", paramLabel = "FILE", description = "Also append the JSON lines here.")
  Path output;

  @Option(names = "--checkpoint-interval-ms", defaultValue = "2000", hidden = true)
  long checkpointInterval;

  @Option(names = "--state-backend", defaultValue = "rocksdb", hidden = true,
      description = "rocksdb (the benchmark) or hashmap (to see what RocksDB costs).")
  String stateBackend;

  @Option(names = "--keep-checkpoints", hidden = true,
      description = "Keep each contender's checkpoint and savepoint directories (for inspection).")
  boolean keepCheckpoints;

  /** One contender's figures. */
  record Result(String contender, int cards, long events, double seconds, double eventsPerSecond,
      long stateBytesPerCard, boolean capped, Integer stateCards) {
    String json() {
      StringBuilder b = new StringBuilder();
      b.append(String.format(Locale.ROOT,
          "{\"benchmark\":\"features\",\"contender\":\"%s\",\"cards\":%d,\"events\":%d,"
              + "\"seconds\":%.2f,\"events_per_second\":%.0f,\"state_bytes_per_card\":%d",
          contender, cards, events, seconds, eventsPerSecond, stateBytesPerCard));
      if (capped) {
        b.append(",\"capped\":true");
      }
      if (stateCards != null) {
        b.append(",\"state_cards\":").append(stateCards);
      }
      return b.append('}').toString();
    }
  }

  @Override
  public Integer call() throws Exception {
    int c = cards != null ? cards : quick ? 1_000 : 10_000;
    int cap = capSeconds != null ? capSeconds : quick ? 20 : 300;
    int small = stateCards != null ? stateCards : quick ? 10 : 100;
    PrintWriter out = spec.commandLine().getOut();
    SyntheticTransactions input = new SyntheticTransactions(c, days, perCardPerDay);
    System.err.printf(Locale.ROOT, "bench features: %,d cards, %,d events over %d days, RocksDB,"
        + " parallelism 1, cap %d s per contender%n", c, input.events(), days, cap);
    for (String name : contenders) {
      Result r = run(name, input, Duration.ofSeconds(cap));
      if (r.capped() && small > 0) {
        SyntheticTransactions few = new SyntheticTransactions(small, days, perCardPerDay);
        System.err.printf("bench features: %s was capped; measuring its state on a full year of %d"
            + " cards%n", name, small);
        Result state = run(name, few, Duration.ofHours(1));
        r = new Result(r.contender(), r.cards(), r.events(), r.seconds(), r.eventsPerSecond(),
            state.stateBytesPerCard(), true, small);
      }
      out.println(r.json());
      out.flush();
      if (output != null) {
        Files.writeString(output, r.json() + "\n", StandardOpenOption.CREATE, StandardOpenOption.APPEND);
      }
    }
    return 0;
  }

  Result run(String name, SyntheticTransactions input, Duration cap) throws Exception {
    Path work = Files.createTempDirectory("vigil-bench-" + name);
    try {
      Harness.reset();
      Configuration config = new Configuration();
      config.setString("state.backend.type", stateBackend);
      config.setString("execution.checkpointing.dir", work.resolve("chk").toUri().toString());
      config.setString("execution.checkpointing.interval", checkpointInterval + " ms");
      config.setString("execution.checkpointing.incremental", "false");
      config.setString("execution.checkpointing.num-retained", "1");
      config.setString("parallelism.default", "1");
      config.setString("rest.bind-address", "127.0.0.1");
      StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config);
      env.setParallelism(1);
      // As production jobs run: chained operators hand records on instead of copying them.
      env.getConfig().enableObjectReuse();
      DataStream<Tuple4<String, Long, Long, String>> events =
          env.fromSource(Harness.source(input), WatermarkStrategy.noWatermarks(), "transactions")
              .map(new Harness.Counter<Tuple4<String, Long, Long, String>>())
              .returns(Harness.EVENT_TYPE)
              .name("count");
      build(name, env, events);
      JobClient job = env.executeAsync("bench " + name);
      long n = input.events();
      long started = System.nanoTime();
      boolean capped = false;
      long eventsAtCap = 0;
      double secondsAtCap = 0;
      long lastPrint = System.nanoTime();
      while (true) {
        Thread.sleep(100);
        JobStatus status = job.getJobStatus().get();
        if (status.isGloballyTerminalState()) {
          job.getJobExecutionResult().get(); // throws the failure
          throw new IllegalStateException(name + ": job ended early (" + status + ")");
        }
        long count = Harness.COUNT.get();
        if (!capped && System.nanoTime() - started > cap.toNanos() && count < n) {
          capped = true;
          eventsAtCap = count;
          secondsAtCap = (Harness.LAST_NANOS.get() - Harness.FIRST_NANOS.get()) / 1e9;
        }
        long target = capped ? eventsAtCap : n;
        if (count >= target) {
          break;
        }
        if (System.nanoTime() - lastPrint > 5_000_000_000L) {
          lastPrint = System.nanoTime();
          System.err.printf(Locale.ROOT, "bench features: %s %,d / %,d events%n", name, count, n);
        }
      }
      long processed = capped ? eventsAtCap : n;
      double seconds = capped ? secondsAtCap
          : (Harness.LAST_NANOS.get() - Harness.FIRST_NANOS.get()) / 1e9;
      // State: a canonical savepoint, taken once the source has emitted every event (its barrier
      // follows them through every operator). Its size is the live state; a RocksDB checkpoint's
      // SST files also hold not-yet-compacted older versions of updated keys, so their size
      // depends on compaction timing more than on what is kept (1.6-3.8 KB/card seen for Vigil).
      String savepoint = null;
      for (int attempt = 1; savepoint == null; attempt++) {
        try {
          savepoint = job.triggerSavepoint(work.resolve("savepoint").toUri().toString(),
              SavepointFormatType.CANONICAL).get();
        } catch (java.util.concurrent.ExecutionException e) {
          // On a tiny input every event may be in before each task runs: the savepoint is refused
          // until they all do.
          if (attempt >= 50) {
            throw e;
          }
          Thread.sleep(200);
        }
      }
      long bytes = Harness.directoryBytes(Path.of(java.net.URI.create(savepoint)));
      job.cancel().get();
      System.err.printf(Locale.ROOT, "bench features: %s done: %,d events in %.1f s, savepoint %,d bytes%n",
          name, processed, seconds, bytes);
      return new Result(name, input.cards(), processed, seconds, processed / Math.max(seconds, 1e-9),
          bytes / input.cards(), capped, null);
    } finally {
      if (keepCheckpoints) {
        System.err.println("bench features: checkpoints of " + name + " kept in " + work);
      } else {
        Harness.deleteTree(work);
      }
    }
  }

  static void build(String name, StreamExecutionEnvironment env,
      DataStream<Tuple4<String, Long, Long, String>> events) throws Exception {
    switch (name) {
      case "pass_through" -> events
          .keyBy(e -> e.f0, Types.STRING)
          .map(e -> e)
          .returns(Harness.EVENT_TYPE)
          .name("pass-through")
          .sinkTo(new DiscardingSink<>());
      case "vigil" -> {
        FeatureSpec featureSpec = FeatureSpec.parse(CARD_SPEC, "bench", null);
        CompiledSpec compiled = CompiledSpec.compile(featureSpec,
            CompiledSpec.sourceSchema(featureSpec, "bench"), "bench");
        int features = featureSpec.features().size();
        DataStream<FeatureEvent> tx = events
            .map(e -> new FeatureEvent(transaction(e), 0, features))
            .returns(FeaturePipeline.typeOf(compiled))
            .name("to Transaction");
        FeaturePipeline.defineWorkflow(tx, compiled).output().sinkTo(new DiscardingSink<>());
      }
      case "sliding_window" -> events
          .assignTimestampsAndWatermarks(
              WatermarkStrategy.<Tuple4<String, Long, Long, String>>forMonotonousTimestamps()
                  .withTimestampAssigner((e, ts) -> e.f1))
          .keyBy(e -> e.f0, Types.STRING)
          .window(SlidingEventTimeWindows.of(Duration.ofDays(365), Duration.ofDays(1)))
          .aggregate(new CountAggregate(), Types.LONG, Types.LONG)
          .name("365d sliding window count")
          .sinkTo(new DiscardingSink<>());
      case "sql_over" -> {
        StreamTableEnvironment tables = StreamTableEnvironment.create(env);
        DataStream<Tuple4<String, Long, Long, String>> timed = events.assignTimestampsAndWatermarks(
            WatermarkStrategy.<Tuple4<String, Long, Long, String>>forMonotonousTimestamps()
                .withTimestampAssigner((e, ts) -> e.f1));
        Table t = tables.fromDataStream(timed, Schema.newBuilder()
            .columnByMetadata("rowtime", "TIMESTAMP_LTZ(3)")
            .watermark("rowtime", "SOURCE_WATERMARK()")
            .build());
        tables.createTemporaryView("tx", t);
        Table counts = tables.sqlQuery(
            "SELECT f0 AS card_id, COUNT(*) OVER (PARTITION BY f0 ORDER BY rowtime"
                + " RANGE BETWEEN INTERVAL '365' DAY(3) PRECEDING AND CURRENT ROW) AS n FROM tx");
        tables.toDataStream(counts).sinkTo(new DiscardingSink<>());
      }
      default -> throw new IllegalArgumentException("unknown contender '" + name
          + "'; use pass_through, vigil, sql_over, sliding_window");
    }
  }

  static Transaction transaction(Tuple4<String, Long, Long, String> e) {
    // The all-args constructor: the builder validates and deep-copies defaults on every call.
    return new Transaction("x", e.f0, e.f3, e.f2, "EUR", Instant.ofEpochMilli(e.f1), Channel.POS,
        null, null);
  }

  /** An incremental count. */
  static final class CountAggregate implements AggregateFunction<Tuple4<String, Long, Long, String>, Long, Long> {
    private static final long serialVersionUID = 1L;

    @Override
    public Long createAccumulator() {
      return 0L;
    }

    @Override
    public Long add(Tuple4<String, Long, Long, String> value, Long acc) {
      return acc + 1;
    }

    @Override
    public Long getResult(Long acc) {
      return acc;
    }

    @Override
    public Long merge(Long a, Long b) {
      return a + b;
    }
  }

}
