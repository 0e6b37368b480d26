package dev.vigil.statetools;

import dev.vigil.transforms.engine.EngineState;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code vigil state verify}: recomputes the state offline from history as of the savepoint's
 * cut-over and lists on stdout every key whose state differs (missing on either side, or other
 * bytes). Exit 0 none differ, 1 some do, 2 bad input.
 */
@Command(
    name = "verify",
    mixinStandardHelpOptions = true,
    description = "Recomputes every key's state from history as of the savepoint's cut-over and"
        + " lists each key whose state in the savepoint differs; exit 1 if any does.")
public final class VerifyCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--savepoint", required = true, paramLabel = "DIR") Path savepoint;

  @Option(names = "--spec", required = true, paramLabel = "F.yaml") Path specFile;

  @Option(names = "--input", required = true, paramLabel = "history",
      description = "The history the savepoint was built from (.jsonl, .avro, .parquet).")
  Path input;

  @Option(names = "--parallelism", defaultValue = "2", paramLabel = "N") int parallelism;

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    PrintWriter out = spec.commandLine().getOut();
    try {
      CompiledSpec compiled = CommandSupport.spec(specFile);
      Savepoints.Opened sp = Savepoints.open(savepoint);
      SavepointStamp stamp = sp.requireStamp("verify needs its cut-over");
      Savepoints.checkFits(sp, compiled, stamp.maxParallelism());
      PrintStream progress = new PrintStream(new WriterStream(err), true, StandardCharsets.UTF_8);
      HistoryStates.Result history = HistoryStates.compute(compiled, compiled.engines(), input,
          stamp.cutoverMillis(), stamp.dedupeHorizonMillis(), progress);
      long differing = 0;
      long keys = 0;
      for (HistoryStates.EntityStates e : history.entities()) {
        EntityEngine engine = e.engine();
        Map<String, byte[]> saved = Savepoints.states(Savepoints.read(savepoint, engine,
            stamp.dedupeHorizonMillis(), null, parallelism));
        TreeSet<String> all = new TreeSet<>(saved.keySet());
        all.addAll(e.states().keySet());
        keys += all.size();
        for (String key : all) {
          byte[] a = saved.get(key);
          byte[] b = e.states().get(key);
          if (Arrays.equals(a, b)) {
            continue;
          }
          differing++;
          out.println(engine.entity() + " " + key + ": " + (a == null ? "missing from the savepoint"
              : b == null ? "in the savepoint only" : "differs: savepoint " + brief(engine, a)
                  + ", history " + brief(engine, b)));
        }
      }
      out.flush();
      err.printf("state verify: %s: %,d keys checked against %,d events of %s: %,d differ%n",
          savepoint, keys, history.events(), input, differing);
      return differing == 0 ? 0 : 1;
    } catch (StateToolException e) {
      err.println("state verify: " + e.getMessage());
      return 2;
    }
  }

  private static String brief(EntityEngine engine, byte[] state) {
    EngineState s = engine.describe(state);
    return s.bytes() + " bytes, newest " + (s.newestMillis() == null ? "none"
        : java.time.Instant.ofEpochMilli(s.newestMillis())) + ", " + s.pending() + " pending";
  }
}
