package dev.vigil.transforms.cli;

import dev.vigil.schemas.contracts.ConsumerManifest;
import dev.vigil.schemas.registry.RegistryException;
import dev.vigil.schemas.registry.SchemaRegistryClient;
import dev.vigil.transforms.batch.BatchBackfill;
import dev.vigil.transforms.io.EventFiles;
import dev.vigil.transforms.offline.Backfill;
import dev.vigil.transforms.spec.Aggregation;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.Durations;
import dev.vigil.transforms.spec.EntityTiming;
import dev.vigil.transforms.spec.FeatureDef;
import dev.vigil.transforms.spec.FeatureSpec;
import dev.vigil.transforms.spec.SpecException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.avro.Schema;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** {@code vigil features}: explain a spec, write its consumer manifest, backfill training data. */
@Command(
    name = "features",
    mixinStandardHelpOptions = true,
    description = "Feature specs: explain the cost of each feature, write the consumer manifest,"
        + " compute point-in-time training data.",
    subcommands = {
      FeaturesCommand.Explain.class,
      FeaturesCommand.Manifest.class,
      FeaturesCommand.BackfillCommand.class
    })
public final class FeaturesCommand implements Runnable {
  static final int OK = 0;
  static final int BAD_INPUT = 2;
  static final int INTERNAL = 3;

  @Spec CommandSpec spec;

  /** Runs {@code features} on its own (the {@code vigil} command registers it as a subcommand). */
  public static void main(String[] args) {
    System.exit(new CommandLine(new FeaturesCommand()).execute(args));
  }

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "Missing a command (explain, manifest, backfill).");
  }

  /** Where a command's spec and its source schema come from: {@code --spec}, {@code --registry}. */
  static final class SpecSource {
    @Option(names = "--spec", required = true, paramLabel = "F.yaml", description = "The feature spec.")
    Path specFile;

    @Option(names = "--registry", paramLabel = "URL",
        description = "Check the spec against the latest schema of its source subject in this"
            + " schema registry (Confluent API), instead of source.schema or the bundled schema.")
    String registry;

    /** The compiled spec, or null after printing what is wrong. */
    CompiledSpec load(PrintWriter err) {
      try {
        if (registry == null) {
          return CompiledSpec.load(specFile);
        }
        FeatureSpec parsed = FeatureSpec.load(specFile);
        String subject = parsed.sourceSubject();
        Schema schema;
        try (SchemaRegistryClient client = SchemaRegistryClient.of(registry)) {
          schema = client.latest(subject).schema();
        } catch (RegistryException | IllegalArgumentException e) {
          err.println("features: cannot read the latest schema of subject '" + subject + "' from "
              + registry + ": " + e.getMessage() + " (check --registry, or leave it out to use the"
              + " spec's source.schema or the bundled schema)");
          err.flush();
          return null;
        }
        return CompiledSpec.compile(parsed, schema, specFile + " (schema: " + registry + ", subject "
            + subject + ", latest)");
      } catch (SpecException e) {
        err.println("features: " + e.getMessage());
        err.flush();
        return null;
      }
    }
  }

  /** {@code features explain}. */
  @Command(name = "explain", mixinStandardHelpOptions = true,
      description = "Per feature: state bytes per key (estimate), work per event, freshness, and the"
          + " source fields it reads.")
  public static final class Explain implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin SpecSource source;

    @Override
    public Integer call() {
      PrintWriter out = spec.commandLine().getOut();
      CompiledSpec compiled = source.load(spec.commandLine().getErr());
      if (compiled == null) {
        return BAD_INPUT;
      }
      out.printf("spec %s: %d features, %d entities, source %s (%s), fingerprint %s%n",
          source.specFile, compiled.spec().features().size(), compiled.spec().activeEntities().size(),
          compiled.spec().sourceSubject(), compiled.schema().getFullName(),
          compiled.spec().fingerprint().substring(0, 12));
      out.println();
      out.printf("%-28s %-9s %-16s %-7s %-10s %-34s %s%n", "feature", "entity", "aggregation",
          "window", "tail", "state per key (estimate)", "work per event");
      for (String entity : compiled.spec().activeEntities()) {
        long total = 0;
        for (FeatureDef f : compiled.spec().featuresOf(entity)) {
          Estimate e = estimate(f);
          total += e.bytes;
          out.printf("%-28s %-9s %-16s %-7s %-10s %-34s %s%n", f.name(), entity,
              f.aggregation().specName() + (f.field() == null ? "" : "(" + f.field() + ")"),
              f.lifetime() ? "lifetime" : Durations.format(f.windowMillis()),
              f.lifetime() ? "-" : Durations.format(f.resolutionMillis()),
              e.text, e.work);
        }
        var engine = compiled.engines().stream().filter(x -> x.entity().equals(entity)).findFirst().orElseThrow();
        EntityTiming timing = compiled.spec().timingOf(entity);
        out.printf("  entity %s: key %s, ordering %s, %s; one state value per key ≈ %,d bytes at"
            + " most (plus ~16 B header), state TTL %s, late after %s%n", entity,
            compiled.entityKey(entity).name(), timing.ordering().spelling(),
            timing.asOfMillis() == 0 ? "read at each event's time (no lag)"
                : "read as of " + Durations.format(timing.asOfMillis()) + " before each event",
            total,
            engine.stateTtlMillis().isPresent()
                ? Durations.format(engine.stateTtlMillis().getAsLong())
                    + (timing.idleTtlMillis() > 0 ? " (idle_ttl: an idle key starts afresh)" : "")
                    + " in event time"
                : "none (a lifetime feature keeps keys forever; idle_ttl bounds them)",
            engine.lateAfterMillis() == Long.MAX_VALUE ? "never (lifetime features)"
                : Durations.format(engine.lateAfterMillis()));
      }
      out.println();
      out.println("freshness: every feature is fresh on every event: its value is computed on the"
          + " event itself, from all the key's events strictly before it.");
      out.println("source fields read: " + String.join(", ", sourceFields(compiled).keySet()));
      out.flush();
      return OK;
    }

    private record Estimate(long bytes, String text, String work) {}

    private static Estimate estimate(FeatureDef f) {
      long tiles = f.lifetime() ? 1 : f.windowMillis() / f.resolutionMillis() + 1;
      Aggregation a = f.aggregation();
      long perTile =
          switch (a) {
            case COUNT -> 3;
            case SUM, MIN, MAX -> 6;
            case MEAN -> 8;
            case DISTINCT_COUNT -> 12;
            case TIME_SINCE_FIRST -> 6;
            case LAST -> 0;
            case TIME_SINCE_LAST -> 0;
          };
      if (a == Aggregation.LAST) {
        return new Estimate(24, "≈ 24 B (the latest value)", "O(1)");
      }
      if (a == Aggregation.TIME_SINCE_LAST) {
        return new Estimate(0, "shared: latest event time", "O(1)");
      }
      if (f.lifetime()) {
        String text = a == Aggregation.DISTINCT_COUNT ? "8 B per distinct value (unbounded)"
            : "≈ " + (perTile + 2) + " B (one running aggregate)";
        return new Estimate(perTile + 2, text, "O(1)");
      }
      long bytes = tiles * perTile;
      String work = switch (a) {
        case COUNT -> "O(1): running total";
        case SUM, MEAN -> "O(1) (int/long; float: re-read ≤ " + tiles + " tiles)";
        case TIME_SINCE_FIRST -> "O(1): the oldest tile";
        default -> "re-read ≤ " + tiles + " tiles";
      };
      return new Estimate(bytes, String.format(Locale.ROOT, "≤ %,d B (%d tiles × ~%d B)",
          bytes, tiles, perTile), work);
    }
  }

  /** Source field → the features that read it (event time and keys included). */
  static Map<String, List<String>> sourceFields(CompiledSpec compiled) {
    Map<String, List<String>> fields = new LinkedHashMap<>();
    fields.put(compiled.eventTime().name(), new ArrayList<>(List.of("*")));
    for (String entity : compiled.spec().activeEntities()) {
      List<String> users = fields.computeIfAbsent(compiled.entityKey(entity).name(), k -> new ArrayList<>());
      compiled.spec().featuresOf(entity).forEach(f -> users.add(f.name()));
    }
    for (FeatureDef f : compiled.spec().features()) {
      if (f.field() != null) {
        fields.computeIfAbsent(f.field(), k -> new ArrayList<>()).add(f.name());
      }
    }
    return fields;
  }

  /** {@code features manifest}. */
  @Command(name = "manifest", mixinStandardHelpOptions = true,
      description = "Writes the consumer manifest (the fields the spec reads, and which features and"
          + " model use each) that 'contracts check --consumers' reads.")
  public static final class Manifest implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin SpecSource source;

    @Option(names = "--output", paramLabel = "manifest.json",
        description = "Where to write it (default: standard output).")
    Path output;

    @Option(names = "--model", paramLabel = "NAME",
        description = "The model that uses the features (default: the spec's model.name).")
    String model;

    @Override
    public Integer call() {
      CompiledSpec compiled = source.load(spec.commandLine().getErr());
      if (compiled == null) {
        return BAD_INPUT;
      }
      String modelName = model != null ? model : compiled.spec().modelName();
      List<String> models = modelName == null ? List.of() : List.of(modelName);
      List<ConsumerManifest.Field> fields = new ArrayList<>();
      Schema schema = compiled.schema();
      for (Map.Entry<String, List<String>> e : sourceFields(compiled).entrySet()) {
        fields.add(new ConsumerManifest.Field(e.getKey(),
            ConsumerManifest.typeOf(schema.getField(e.getKey()).schema()), e.getValue(), models));
      }
      String subject = compiled.spec().sourceSubject();
      List<ConsumerManifest.Entity> entities = new ArrayList<>();
      for (String entity : compiled.spec().activeEntities()) {
        EntityTiming t = compiled.spec().timingOf(entity);
        entities.add(new ConsumerManifest.Entity(entity, compiled.entityKey(entity).name(),
            t.ordering().spelling(), t.asOfMillis() == 0 ? "0" : Durations.format(t.asOfMillis())));
      }
      String json = new ConsumerManifest(
          Map.of(subject, new ConsumerManifest.Subject(subject, fields, entities))).toJson();
      if (output == null) {
        spec.commandLine().getOut().print(json);
        spec.commandLine().getOut().flush();
      } else {
        try {
          Files.writeString(output, json);
        } catch (IOException e) {
          spec.commandLine().getErr().println("features manifest: cannot write " + output + ": " + e.getMessage());
          return BAD_INPUT;
        }
        spec.commandLine().getErr().println("wrote " + output + " (" + fields.size() + " fields of "
            + subject + ")");
      }
      return OK;
    }
  }

  /** {@code features backfill}. */
  @Command(name = "backfill", mixinStandardHelpOptions = true,
      description = "Point-in-time-correct feature vectors for every event of a file (training"
          + " data), computed by the same engine as the streaming job. Output in event-time order."
          + " With --parallelism, a Flink batch job on a local MiniCluster writing a directory of"
          + " part files; without it, one JVM thread writing one file (the default).")
  public static final class BackfillCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Mixin SpecSource source;

    @Option(names = "--input", required = true, paramLabel = "events.(jsonl|avro)",
        description = "Events: JSON lines (one Transaction per line) or an Avro container file;"
            + " with --parallelism also a directory of such files (read in name order).")
    Path input;

    @Option(names = "--output", required = true, paramLabel = "features.(jsonl|parquet)",
        description = "Feature vectors: JSON lines (.jsonl) or Parquet (.parquet), by extension."
            + " With --parallelism a directory of part files part-00000…, Parquet unless its name"
            + " ends in .jsonl; concatenated in name order they are in event-time order.")
    Path output;

    @Option(names = "--parallelism", paramLabel = "N",
        description = "Run as a Flink batch job on a local MiniCluster with N subtasks per"
            + " operator (N part files). Default: the single-JVM backfill.")
    Integer parallelism;

    @Option(names = "--run-size", defaultValue = "1000000", paramLabel = "N",
        description = "Events per sorted run when the input is not in time order (memory bound)."
            + " Default: ${DEFAULT-VALUE}. Single-JVM path only (the batch job sorts in Flink's"
            + " managed memory).")
    int runSize;

    @Override
    public Integer call() {
      PrintWriter err = spec.commandLine().getErr();
      CompiledSpec compiled = source.load(err);
      if (compiled == null) {
        return BAD_INPUT;
      }
      if (runSize < 1) {
        err.println("features backfill: --run-size must be at least 1");
        return BAD_INPUT;
      }
      if (parallelism != null) {
        return batch(compiled, err);
      }
      try {
        Backfill.Summary s = new Backfill(compiled, runSize, System.err).run(input, output);
        err.printf(Locale.ROOT, "backfill: %,d events → %s in %.1f s (%,.0f events/s)%s, %d late%n",
            s.events(), output, s.seconds(), s.events() / Math.max(s.seconds(), 1e-9),
            s.sorted() ? ", sorted in " + s.runs() + " runs" : "", s.late());
        err.flush();
        return OK;
      } catch (EventFiles.BadInputException e) {
        err.println("features backfill: " + e.getMessage());
        return BAD_INPUT;
      } catch (IOException e) {
        err.println("features backfill: " + e.getMessage());
        return BAD_INPUT;
      }
    }

    private int batch(CompiledSpec compiled, PrintWriter err) {
      BatchBackfill.Options options;
      try {
        options = BatchBackfill.Options.of(parallelism);
      } catch (IllegalArgumentException e) {
        err.println("features backfill: " + e.getMessage());
        return BAD_INPUT;
      }
      try {
        BatchBackfill.Summary s = new BatchBackfill(compiled, options, System.err)
            .run(input, output);
        err.printf(Locale.ROOT, "backfill: %,d events → %s in %.1f s (%,.0f events/s),"
                + " parallelism %d (%d part files), %d late%n",
            s.events(), output, s.seconds(), s.events() / Math.max(s.seconds(), 1e-9),
            s.parallelism(), s.parallelism(), s.late());
        err.flush();
        return OK;
      } catch (EventFiles.BadInputException e) {
        err.println("features backfill: " + e.getMessage());
        return BAD_INPUT;
      } catch (BatchBackfill.JobFailedException e) {
        err.println("features backfill: " + e.getMessage());
        return INTERNAL;
      } catch (IOException e) {
        err.println("features backfill: " + e.getMessage());
        return BAD_INPUT;
      }
    }
  }
}
