package dev.vigil.statetools;

import dev.vigil.avro.Transaction;
import dev.vigil.transforms.io.EventJson;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;

/** Specs, event files and in-process command runs shared by the state-tools tests. */
final class StateFixtures {
  private StateFixtures() {}

  static final String HEADER =
      "source: {subject: payments.transactions-value, event_time: event_time}\n"
          + "entities: {card: card_id, merchant: merchant_id}\nfeatures:\n";

  record Run(int exit, String out, String err) {}

  static Run run(Callable<Integer> command, String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(command).setOut(new PrintWriter(out, true))
        .setErr(new PrintWriter(err, true)).execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  static Path spec(Path dir, String name, String features) throws Exception {
    Path spec = dir.resolve(name);
    Files.writeString(spec, HEADER + features);
    return spec;
  }

  static Path events(Path file, CompiledSpec spec, List<Transaction> events) throws Exception {
    EventJson json = new EventJson(spec.schema());
    Files.write(file, events.stream().map(json::format).toList());
    return file;
  }

  static long time(Transaction t) {
    return t.getEventTime().toEpochMilli();
  }
}
