package dev.vigil.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiter;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;

/**
 * What every contender shares: the generated source (which, after its last event, stays open so
 * the job can take a savepoint of the state after the whole history), and the counting step that
 * measures throughput.
 */
final class Harness {
  private Harness() {}

  /** Progress of the running contender, shared with the driver thread (same JVM, MiniCluster). */
  static final AtomicLong COUNT = new AtomicLong();
  static final AtomicLong FIRST_NANOS = new AtomicLong();
  static final AtomicLong LAST_NANOS = new AtomicLong();

  static void reset() {
    COUNT.set(0);
    FIRST_NANOS.set(0);
    LAST_NANOS.set(0);
  }

  static final TypeInformation<Tuple4<String, Long, Long, String>> EVENT_TYPE =
      Types.TUPLE(Types.STRING, Types.LONG, Types.LONG, Types.STRING);

  /** The generated events, then silence (the source never finishes: the driver cancels the job). */
  static DataGeneratorSource<Tuple4<String, Long, Long, String>> source(SyntheticTransactions input) {
    long n = input.events();
    GeneratorFunction<Long, Tuple4<String, Long, Long, String>> gen = input::event;
    return new DataGeneratorSource<>(gen, Long.MAX_VALUE, new StopAfter(n), EVENT_TYPE);
  }

  /** Lets {@code n} events through, then blocks forever. */
  static final class StopAfter implements RateLimiterStrategy<org.apache.flink.api.connector.source.lib.NumberSequenceSource.NumberSequenceSplit> {
    private static final long serialVersionUID = 1L;
    private final long n;

    StopAfter(long n) {
      this.n = n;
    }

    @Override
    public RateLimiter<org.apache.flink.api.connector.source.lib.NumberSequenceSource.NumberSequenceSplit> createRateLimiter(int parallelism) {
      return new RateLimiter<>() {
        long granted;
        final CompletableFuture<Void> never = new CompletableFuture<>();

        @Override
        public CompletionStage<Void> acquire(int permits) {
          granted += permits;
          return granted <= n ? CompletableFuture.completedFuture(null) : never;
        }
      };
    }
  }

  /** Counts events right after the source and times the first and the last. */
  static final class Counter<T> extends RichMapFunction<T, T> {
    private static final long serialVersionUID = 1L;

    @Override
    public void open(OpenContext context) {}

    @Override
    public T map(T value) {
      long c = COUNT.incrementAndGet();
      long now = System.nanoTime();
      if (c == 1) {
        FIRST_NANOS.set(now);
      }
      LAST_NANOS.set(now);
      return value;
    }
  }

  /** Bytes of every file under {@code dir} (a savepoint). */
  static long directoryBytes(Path dir) throws IOException {
    try (Stream<Path> files = Files.walk(dir)) {
      long total = 0;
      for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        total += Files.size(p);
      }
      return total;
    }
  }

  static void deleteTree(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temp directory
    }
  }
}
