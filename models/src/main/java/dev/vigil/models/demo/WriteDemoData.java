package dev.vigil.models.demo;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import dev.vigil.avro.Transaction;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Iterator;

/**
 * Writes {@link FraudGenerator} data for training: {@code transactions.jsonl} (one {@code
 * Transaction} per line, keys = Avro field names, {@code event_time} as ISO-8601 UTC, the input of
 * {@code vigil features backfill}) and {@code labels.csv} ({@code transaction_id,fraud,pattern}).
 *
 * <pre>WriteDemoData --cards 2000 --days 60 --out DIR [--seed 42] [--tx-per-day 2]
 *               [--start 2026-01-01T00:00:00Z]</pre>
 */
public final class WriteDemoData {
  private WriteDemoData() {}

  public static void main(String[] args) throws IOException {
    int cards = 2000;
    int days = 60;
    long seed = 42;
    double txPerDay = 2;
    Instant start = Instant.parse("2026-01-01T00:00:00Z");
    Path out = null;
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      switch (args[i]) {
        case "--cards" -> cards = Integer.parseInt(value);
        case "--days" -> days = Integer.parseInt(value);
        case "--seed" -> seed = Long.parseLong(value);
        case "--tx-per-day" -> txPerDay = Double.parseDouble(value);
        case "--start" -> start = Instant.parse(value);
        case "--out" -> out = Path.of(value);
        default -> usage("unknown option " + args[i]);
      }
      i++;
    }
    if (out == null) {
      usage("--out DIR is required");
    }
    long[] counts = write(FraudGenerator.generate(seed, cards, start, Duration.ofDays(days), txPerDay), out);
    System.err.printf(
        "WriteDemoData: %,d transactions (%,d fraud, %.2f%%) for %,d cards over %d days -> %s%n",
        counts[0], counts[1], 100.0 * counts[1] / Math.max(1, counts[0]), cards, days, out);
  }

  /** Writes both files into {@code dir}; returns {transactions, fraud}. */
  public static long[] write(Iterator<FraudGenerator.Labelled> data, Path dir) throws IOException {
    Files.createDirectories(dir);
    long total = 0;
    long fraud = 0;
    JsonFactory factory = new JsonFactory();
    DateTimeFormatter iso = DateTimeFormatter.ISO_INSTANT;
    try (Writer tx = Files.newBufferedWriter(dir.resolve("transactions.jsonl"), StandardCharsets.UTF_8);
        BufferedWriter labels = Files.newBufferedWriter(dir.resolve("labels.csv"), StandardCharsets.UTF_8);
        JsonGenerator json = factory.createGenerator(tx)) {
      json.setRootValueSeparator(new com.fasterxml.jackson.core.io.SerializedString("\n"));
      labels.write("transaction_id,fraud,pattern\n");
      while (data.hasNext()) {
        FraudGenerator.Labelled l = data.next();
        Transaction t = l.tx();
        json.writeStartObject();
        json.writeStringField("transaction_id", t.getTransactionId());
        json.writeStringField("card_id", t.getCardId());
        json.writeStringField("merchant_id", t.getMerchantId());
        json.writeNumberField("amount_cents", t.getAmountCents());
        json.writeStringField("currency", t.getCurrency());
        // Always with milliseconds (2026-03-01T12:00:00.000Z), like the upstream producers.
        json.writeStringField("event_time", iso.format(t.getEventTime().truncatedTo(ChronoUnit.MILLIS)).replaceFirst("(:\\d\\d)Z$", "$1.000Z"));
        json.writeStringField("channel", t.getChannel().name());
        json.writeStringField("device_id", t.getDeviceId());
        json.writeStringField("country", t.getCountry());
        json.writeEndObject();
        labels.write(t.getTransactionId());
        labels.write(l.fraud() ? ",1," : ",0,");
        labels.write(l.pattern());
        labels.write('\n');
        total++;
        if (l.fraud()) {
          fraud++;
        }
      }
      json.writeRaw('\n');
    }
    return new long[] {total, fraud};
  }

  private static void usage(String problem) {
    System.err.println("WriteDemoData: " + problem);
    System.err.println(
        "usage: WriteDemoData --cards N --days D --out DIR [--seed S] [--tx-per-day X] [--start ISO-INSTANT]");
    System.exit(2);
  }
}
