package dev.vigil.transforms.engine;

import static dev.vigil.transforms.offline.SyntheticEvents.mix;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Measures the engine alone, one thread: events/s of the example spec's card entity and the state
 * bytes per card after a year at about 3 events a day. A main, not a test: timing is not asserted.
 *
 * <pre>
 * ./vigil --help &gt;/dev/null   # builds cli/target/classpath.txt
 * ./mvnw -q -pl transforms -am test-compile
 * java -cp "transforms/target/test-classes:transforms/target/classes:$(cat cli/target/classpath.txt)" \
 *   dev.vigil.transforms.engine.EngineThroughput [cards] [days] [perDay] [spec]
 * </pre>
 */
public final class EngineThroughput {
  private EngineThroughput() {}

  public static void main(String[] args) throws Exception {
    int cards = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
    int days = args.length > 1 ? Integer.parseInt(args[1]) : 365;
    double perDay = args.length > 2 ? Double.parseDouble(args[2]) : 3.0;
    Path specFile = Path.of(args.length > 3 ? args[3] : "examples/features.yaml");
    CompiledSpec compiled = CompiledSpec.load(specFile);
    EntityEngine engine = EntityEngine.forEntity(compiled, "card");
    int n = (int) Math.round(cards * (double) days * perDay);
    Transaction[] events = new Transaction[n];
    long start = Instant.parse("2025-01-01T00:00:00Z").toEpochMilli();
    long span = days * 86_400_000L;
    for (int i = 0; i < n; i++) {
      long h = mix(i * 31L + 7);
      events[i] = Transaction.newBuilder().setTransactionId("t" + i)
          .setCardId("c" + Math.floorMod(mix(i), cards))
          .setMerchantId("m" + Math.floorMod(h >>> 20, 500)).setAmountCents(Math.floorMod(h, 200_000L))
          .setCurrency("EUR").setEventTime(Instant.ofEpochMilli(start + (long) ((double) i * span / n)))
          .setChannel(Channel.POS).setDeviceId(null).setCountry(null).build();
    }
    for (int round = 1; round <= 3; round++) {
      Map<String, byte[]> states = new HashMap<>(cards * 2);
      long t0 = System.nanoTime();
      long sink = 0;
      for (Transaction e : events) {
        String key = engine.keyOf(e);
        EntityEngine.Result r = engine.apply(states.get(key), e);
        states.put(key, r.newState());
        sink += r.values().length;
      }
      double seconds = (System.nanoTime() - t0) / 1e9;
      long bytes = 0;
      for (byte[] s : states.values()) {
        bytes += s.length;
      }
      System.out.printf(Locale.ROOT,
          "round %d: %,d events, %d cards, %.2f s, %,.0f events/s, %.0f state bytes per card%s%n",
          round, n, states.size(), seconds, n / seconds, (double) bytes / states.size(),
          sink == 0 ? "!" : "");
    }
  }
}
