package dev.vigil.schemas.contracts.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;

/** Runs {@code vigil-contracts} in-process and keeps what it printed. */
record CliRun(int exit, String out, String err) {

  static CliRun of(String... args) {
    CommandLine cl = ContractsMain.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out));
    cl.setErr(new PrintWriter(err));
    int exit = cl.execute(args);
    return new CliRun(exit, out.toString(), err.toString());
  }

  static Path write(Path dir, String name, String content) throws java.io.IOException {
    return Files.writeString(dir.resolve(name), content);
  }

  static final String V1 =
      "{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"x\",\"fields\":["
          + "{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount_cents\",\"type\":\"long\"}]}";
  static final String V2 =
      "{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"x\",\"fields\":["
          + "{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount_cents\",\"type\":\"long\"},"
          + "{\"name\":\"country\",\"type\":[\"null\",\"string\"],\"default\":null}]}";
  static final String NEW_REQUIRED =
      "{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"x\",\"fields\":["
          + "{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"amount_cents\",\"type\":\"long\"},"
          + "{\"name\":\"risk\",\"type\":\"string\"}]}";
  static final String AMOUNT_REMOVED =
      "{\"type\":\"record\",\"name\":\"T\",\"namespace\":\"x\",\"fields\":["
          + "{\"name\":\"id\",\"type\":\"string\"},"
          + "{\"name\":\"country\",\"type\":[\"null\",\"string\"],\"default\":null}]}";
  static final String MANIFEST =
      "{\"version\":1,\"subjects\":{\"payments.transactions-value\":{\"fields\":["
          + "{\"path\":\"amount_cents\",\"type\":\"long\",\"features\":[\"card_amount_sum_30d\"],"
          + "\"models\":[\"fraud-xgb-v3\"]}]}}}";
}
