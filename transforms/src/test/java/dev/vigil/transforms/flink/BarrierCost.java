package dev.vigil.transforms.flink;

import dev.vigil.avro.Channel;
import dev.vigil.avro.Transaction;
import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Locale;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.state.rocksdb.EmbeddedRocksDBStateBackend;
import org.apache.flink.streaming.api.watermark.Watermark;
import org.apache.flink.streaming.runtime.streamrecord.StreamRecord;
import org.apache.flink.streaming.util.KeyedOneInputStreamOperatorTestHarness;

/**
 * What a checkpoint barrier costs an event-time feature stage on RocksDB, by how many events wait
 * in it: {@link FeatureStage#prepareSnapshotPreBarrier} (write-behind cache flush and the waiting
 * events written to keyed state) and the backend's snapshot, each timed on its own, for the
 * example spec's merchant stage ({@code as_of: 2s}). Issue #13's hypothesis for the scoring
 * job's per-checkpoint latency bursts. A main, not a test: timing is not asserted.
 *
 * <pre>
 * ./vigil --help &gt;/dev/null   # builds cli/target/classpath.txt
 * ./mvnw -q -pl transforms -am test-compile
 * java -cp "transforms/target/test-classes:transforms/target/classes:$(cat cli/target/classpath.txt)" \
 *   dev.vigil.transforms.flink.BarrierCost [merchants] [waiting...]
 * </pre>
 */
public final class BarrierCost {
  private BarrierCost() {}

  public static void main(String[] args) throws Exception {
    int merchants = args.length > 0 ? Integer.parseInt(args[0]) : 500;
    int[] waiting = args.length > 1
        ? Arrays.stream(args, 1, args.length).mapToInt(Integer::parseInt).toArray()
        : new int[] {0, 1_000, 3_000, 12_000};
    CompiledSpec spec = CompiledSpec.load(Path.of("examples/features.yaml"));
    int index = spec.spec().activeEntities().indexOf("merchant");
    EntityEngine engine = spec.engines().get(index);
    FeatureEventTypeInfo type = FeaturePipeline.typeOf(spec);
    int featureCount = spec.spec().featureNames().size();
    int[] slots = engine.featureNames().stream()
        .mapToInt(spec.spec().featureNames()::indexOf).toArray();
    long t0 = Instant.parse("2026-06-01T00:00:00Z").toEpochMilli();
    System.out.printf(Locale.ROOT, "%-8s %-8s %14s %14s%n", "waiting", "round", "pre-barrier ms",
        "snapshot ms");
    for (int n : waiting) {
      FeatureStage stage = new FeatureStage(engine, slots, FeatureStage.lateTag(type), -1, null,
          10_000, spec.spec().timingOf("merchant"), type, Duration.ofSeconds(5));
      try (var h = new KeyedOneInputStreamOperatorTestHarness<String, FeatureEvent, FeatureEvent>(
          stage, new EntityKeySelector(engine), Types.STRING)) {
        h.setStateBackend(new EmbeddedRocksDBStateBackend(true));
        h.setup(new FeatureEventSerializer(spec.schema().toString(), featureCount));
        h.open();
        long seq = 0;
        long t = t0;
        for (int round = 1; round <= 7; round++) {
          // n events of the last 2 s (5,000/s live: 2.5 s of them wait), behind no watermark yet
          for (int i = 0; i < n; i++) {
            t += 2_000L / Math.max(1, n);
            h.processElement(new StreamRecord<>(event(seq++, "m" + (seq % merchants), t,
                featureCount)));
          }
          long a = System.nanoTime();
          h.prepareSnapshotPreBarrier(round);
          long b = System.nanoTime();
          h.snapshot(round, round);
          long c = System.nanoTime();
          System.out.printf(Locale.ROOT, "%-8d %-8d %14.1f %14.1f%n", n, round, (b - a) / 1e6,
              (c - b) / 1e6);
          h.processWatermark(new Watermark(t)); // release them all before the next round
          h.getOutput().clear();
        }
      }
    }
  }

  static FeatureEvent event(long seq, String merchant, long t, int featureCount) {
    Transaction tx = Transaction.newBuilder().setTransactionId("t" + seq).setCardId("c" + seq % 10_000)
        .setMerchantId(merchant).setAmountCents(1000 + seq % 5000).setCurrency("EUR")
        .setEventTime(Instant.ofEpochMilli(t)).setChannel(Channel.POS).setDeviceId("d")
        .setCountry("DE").build();
    return new FeatureEvent(tx, seq, featureCount);
  }
}
