package dev.vigil.statetools;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.transforms.engine.EngineState;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vigil state inspect}: a key's features as of the savepoint's cut-over ({@link
 * EntityEngine#valuesAt}) and its tiles ({@link EntityEngine#describe}), as one JSON object; or
 * every key's, as JSON lines. Exit 0, 1 when the key has no state, 2 bad input.
 */
@Command(
    name = "inspect",
    mixinStandardHelpOptions = true,
    description = "Shows a key's features as of the savepoint's cut-over and the tiles they come"
        + " from (JSON), or writes every key's as JSON lines with --dump.")
public final class InspectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--savepoint", required = true, paramLabel = "DIR") Path savepoint;

  @Option(names = "--entity", required = true, paramLabel = "ENTITY",
      description = "The entity, e.g. card.")
  String entity;

  @ArgGroup(exclusive = true, multiplicity = "1") Which which;

  static final class Which {
    @Option(names = "--key", paramLabel = "KEY", description = "One key, e.g. c1.") String key;

    @Option(names = "--dump", paramLabel = "out.jsonl", description = "Every key, one line each.")
    Path dump;
  }

  @Option(names = "--as-of", paramLabel = "T",
      description = "Values as of T instead of the cut-over (ISO-8601 UTC or epoch millis).")
  String asOf;

  @Option(names = "--parallelism", defaultValue = "2", paramLabel = "N") int parallelism;

  static final ObjectMapper JSON = new ObjectMapper();

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    PrintWriter out = spec.commandLine().getOut();
    try {
      Savepoints.Opened sp = Savepoints.open(savepoint);
      CompiledSpec compiled = SavepointSpec.of(sp, null);
      EntityEngine engine = SavepointSpec.engine(compiled, entity, savepoint);
      Savepoints.requireStages(sp, List.of(engine));
      long t = asOf != null ? CommandSupport.cutover(asOf) : sp.stamp().cutoverMillis();
      Map<String, KeyedValue> values = Savepoints.read(savepoint, engine,
          sp.stamp().dedupeHorizonMillis(), null, parallelism);
      if (which.key != null) {
        KeyedValue v = values.get(which.key);
        if (v == null || v.state == null) {
          err.println("state inspect: " + savepoint + ": no state for " + entity + " '"
              + which.key + "' (never seen before the cut-over, or past its TTL)");
          return 1;
        }
        out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(
            view(engine, v, t)));
        out.flush();
        return 0;
      }
      try (BufferedWriter w = Files.newBufferedWriter(which.dump, StandardCharsets.UTF_8)) {
        for (KeyedValue v : values.values()) {
          if (v.state != null) {
            w.write(JSON.writeValueAsString(view(engine, v, t)));
            w.write('\n');
          }
        }
      }
      err.printf("state inspect: %,d %s keys as of %s → %s%n", values.size(), entity,
          Instant.ofEpochMilli(t), which.dump);
      return 0;
    } catch (StateToolException e) {
      err.println("state inspect: " + e.getMessage());
      return 2;
    } catch (IOException e) {
      err.println("state inspect: " + e.getMessage());
      return 2;
    }
  }

  /** One key: its features as of {@code t}, then what its state holds. */
  static Map<String, Object> view(EntityEngine engine, KeyedValue v, long t) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("entity", engine.entity());
    m.put("key", v.key);
    m.put("as_of", Instant.ofEpochMilli(t).toString());
    Object[] values = engine.valuesAt(v.state, t);
    Map<String, Object> features = new LinkedHashMap<>();
    List<String> names = engine.featureNames();
    for (int i = 0; i < names.size(); i++) {
      features.put(names.get(i), values[i]);
    }
    m.put("features", features);
    EngineState s = engine.describe(v.state);
    Map<String, Object> state = new LinkedHashMap<>();
    state.put("bytes", s.bytes());
    state.put("newest_event", s.newestMillis() == null ? null
        : Instant.ofEpochMilli(s.newestMillis()).toString());
    state.put("pending", s.pending());
    state.put("last_event", s.lastEventMillis() == null ? null
        : Instant.ofEpochMilli(s.lastEventMillis()).toString());
    state.put("last_values", s.lastValues());
    Map<String, Object> tiles = new LinkedHashMap<>();
    s.tiles().forEach((f, list) -> tiles.put(f, list.stream().map(Object::toString).toList()));
    state.put("tiles", tiles);
    state.put("dedupe_ids", v.ids == null ? 0 : v.ids.length);
    m.put("state", state);
    return m;
  }
}
