package dev.vigil.statetools;

import dev.vigil.transforms.OperatorUids;
import dev.vigil.transforms.offline.SyntheticEvents;
import dev.vigil.transforms.run.FileFeatureJob;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vigil bench bootstrap}: building a savepoint from history with {@code state bootstrap}
 * vs replaying the same history through the streaming feature job ({@code vigil run}'s {@link
 * FileFeatureJob} source and stages, RocksDB, checkpoints every 10 s like a real job, output
 * discarded — the replay is not even charged for writing a savepoint at the end). Same input
 * file (JSON lines, time-ordered, the example spec's features), same parallelism (2). One JSON
 * line per contender on stdout (and appended to {@code --output}).
 */
@Command(
    name = "bootstrap",
    mixinStandardHelpOptions = true,
    description = "state bootstrap vs replaying the history through the streaming feature job;"
        + " one JSON line per contender.")
public final class BootstrapBenchmark implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--quick", description = "1,000,000 events (default 10,000,000): under 5 minutes.")
  boolean quick;

  @Option(names = "--events", paramLabel = "N", description = "Events of history.")
  Long events;

  @Option(names = "--cards", defaultValue = "100000", paramLabel = "N",
      description = "Cards. Default: ${DEFAULT-VALUE} (--quick: 10,000).")
  int cards;

  @Option(names = "--contenders", split = ",", defaultValue = "bootstrap,replay",
      paramLabel = "LIST", description = "Default: ${DEFAULT-VALUE}.")
  java.util.List<String> contenders;

  @Option(names = "--output", paramLabel = "FILE", description = "Also append the JSON lines here.")
  Path output;

  static final String SPEC = "source: {subject: payments.transactions-value, event_time: event_time}\n"
      + "entities: {card: card_id, merchant: merchant_id}\n"
      + "features:\n"
      + "  - {name: card_txn_count_365d, entity: card, aggregation: count, window: 365d}\n"
      + "  - {name: card_amount_sum_30d, entity: card, aggregation: sum, field: amount_cents, window: 30d}\n"
      + "  - {name: card_amount_max_24h, entity: card, aggregation: max, field: amount_cents, window: 24h, resolution: 1h}\n"
      + "  - {name: card_distinct_merchants_7d, entity: card, aggregation: distinct_count, field: merchant_id, window: 7d}\n"
      + "  - {name: card_ms_since_last, entity: card, aggregation: time_since_last}\n"
      + "  - {name: card_ms_since_first, entity: card, aggregation: time_since_first}\n"
      + "  - {name: merchant_txn_count_1h, entity: merchant, aggregation: count, window: 1h}\n";

  /** Standalone, until the command is registered under {@code vigil bench}. */
  public static void main(String[] args) {
    System.exit(new picocli.CommandLine(new BootstrapBenchmark()).execute(args));
  }

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    long n = events != null ? events : quick ? 1_000_000L : 10_000_000L;
    int c = quick && cards == 100_000 ? 10_000 : cards;
    Path work = Files.createTempDirectory("vigil-bench-bootstrap");
    try {
      Path specFile = Files.writeString(work.resolve("features.yaml"), SPEC);
      CompiledSpec compiled = CompiledSpec.load(specFile);
      Path history = work.resolve("history.jsonl");
      err.printf(Locale.ROOT, "bench bootstrap: writing %,d events of %,d cards over 365 days%n",
          n, c);
      long last = SyntheticEvents.write(history, n, c, 365, 0);
      long cutover = last + 1;
      PrintStream quiet = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
      for (String contender : contenders) {
        long started = System.nanoTime();
        long counted;
        switch (contender) {
          case "bootstrap" -> {
            Bootstrap.Summary s = Bootstrap.run(compiled, history, cutover, work.resolve("sp"), 
                OperatorUids.DEFAULT_MAX_PARALLELISM, 2, Duration.ofHours(24).toMillis(), true,
                quiet);
            counted = s.history().events();
            err.printf(Locale.ROOT, "bench bootstrap: history %.1f s of %.1f s%n",
                s.history().seconds(), s.seconds());
          }
          case "replay" -> {
            Path checkpoints = Files.createDirectories(work.resolve("checkpoints"));
            var config = FileFeatureJob.localConfig(2, OperatorUids.DEFAULT_MAX_PARALLELISM,
                checkpoints);
            config.setString("execution.checkpointing.interval", "10 s");
            StreamExecutionEnvironment env =
                StreamExecutionEnvironment.getExecutionEnvironment(config);
            var stages = FileFeatureJob.defineWorkflow(env, compiled,
                FileFeatureJob.source(env, compiled, history));
            stages.output().sinkTo(new DiscardingSink<>()).name("discard");
            env.execute("bench bootstrap: replay");
            counted = n;
          }
          default -> {
            err.println("bench bootstrap: unknown contender '" + contender
                + "'; use bootstrap, replay");
            return 2;
          }
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        String line = String.format(Locale.ROOT, "{\"benchmark\":\"bootstrap\",\"contender\":\"%s\","
            + "\"events\":%d,\"seconds\":%.2f,\"events_per_second\":%.0f}", contender, counted,
            seconds, counted / seconds);
        out.println(line);
        out.flush();
        if (output != null) {
          Files.writeString(output, line + "\n", StandardOpenOption.CREATE,
              StandardOpenOption.APPEND);
        }
      }
      return 0;
    } finally {
      Savepoints.deleteTree(work);
    }
  }

}
