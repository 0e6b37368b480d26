package dev.vigil.transforms.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.InputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.avro.Schema;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class FeaturesCommandTest {
  static final Path EXAMPLE = Path.of("..", "examples", "features.yaml");
  @TempDir Path dir;
  HttpServer registry;

  record Run(int code, String out, String err) {}

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    CommandLine cl = new CommandLine(new FeaturesCommand());
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    int code = cl.execute(args);
    return new Run(code, out.toString(), err.toString());
  }

  /** A registry answering only "latest version of a subject" with {@code schema}. */
  String startRegistry(Schema schema) throws Exception {
    registry = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    String body = new ObjectMapper().writeValueAsString(Map.of("subject",
        "payments.transactions-value", "version", 3, "id", 7, "schema", schema.toString()));
    registry.createContext("/subjects/payments.transactions-value/versions/latest", ex -> {
      byte[] b = body.getBytes(StandardCharsets.UTF_8);
      ex.getResponseHeaders().add("Content-Type", "application/vnd.schemaregistry.v1+json");
      ex.sendResponseHeaders(200, b.length);
      ex.getResponseBody().write(b);
      ex.close();
    });
    registry.start();
    return "http://127.0.0.1:" + registry.getAddress().getPort();
  }

  @AfterEach
  void stopRegistry() {
    if (registry != null) {
      registry.stop(0);
    }
  }

  static Schema bundled() throws Exception {
    try (InputStream in = FeaturesCommandTest.class.getResourceAsStream("/avro/Transaction.avsc")) {
      return new Schema.Parser().parse(in);
    }
  }

  @Test
  void explainListsEveryFeatureWithItsStateWorkAndTheFieldsItReads() {
    Run r = run("explain", "--spec", EXAMPLE.toString());
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("card_txn_count_365d", "O(1): running total",
        "card_distinct_merchants_7d", "re-read ≤ 169 tiles", "merchant_txn_count_1h",
        "state TTL none", "source fields read: event_time, card_id, merchant_id, amount_cents");
  }

  @Test
  void manifestNamesTheFieldsWithTheirFeaturesAndModel() throws Exception {
    Path out = dir.resolve("manifest.json");
    Run r = run("manifest", "--spec", EXAMPLE.toString(), "--output", out.toString());
    assertThat(r.code()).isZero();
    String json = Files.readString(out);
    assertThat(json).contains("payments.transactions-value", "\"event_time\"", "\"*\"",
        "card_amount_sum_30d", "fraud-demo");
  }

  @Test
  void theRegistrysLatestSchemaIsWhatTheSpecIsCheckedAgainst() throws Exception {
    String url = startRegistry(bundled());
    Run r = run("explain", "--spec", EXAMPLE.toString(), "--registry", url);
    assertThat(r.err()).isEmpty();
    assertThat(r.code()).isZero();
    assertThat(r.out()).contains("card_amount_sum_30d");
  }

  @Test
  void aFieldTheRegistrysSchemaDropsIsRefusedNamingTheFeature() throws Exception {
    Schema full = bundled();
    Schema withoutAmount = Schema.createRecord(full.getName(), full.getDoc(), full.getNamespace(),
        false, full.getFields().stream().filter(f -> !f.name().equals("amount_cents"))
            .map(f -> new Schema.Field(f, f.schema())).toList());
    String url = startRegistry(withoutAmount);
    Run r = run("manifest", "--spec", EXAMPLE.toString(), "--registry", url);
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("feature 'card_amount_sum_30d'", "amount_cents", url);
  }

  @Test
  void anUnreachableRegistryIsABadInputWithAClearMessage() throws Exception {
    int port;
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort(); // closed below: nothing listens there, connections are refused
    }
    Run r = run("explain", "--spec", EXAMPLE.toString(), "--registry", "http://127.0.0.1:" + port);
    assertThat(r.code()).isEqualTo(2);
    assertThat(r.err()).contains("cannot read the latest schema of subject"
        + " 'payments.transactions-value'", "--registry");
    assertThat(r.err()).doesNotContain("\tat ");
  }
}
