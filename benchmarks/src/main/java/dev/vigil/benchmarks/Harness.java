package dev.vigil.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiter;
import org.apache.flink.api.connector.source.util.ratelimit.RateLimiterStrategy;
import org.apache.flink.api.java.tuple.Tuple4;
import org.apache.flink.connector.datagen.source.DataGeneratorSource;
import org.apache.flink.connector.datagen.source.GeneratorFunction;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;

/**
 * What every contender shares: the generated source (which, after its last event, stays open so
 * the job can take a checkpoint of the state after the whole history), and the counting step that
 * measures throughput and notices when a checkpoint covers everything.
 */
final class Harness {
  private Harness() {}

  /** Progress of the running contender, shared with the driver thread (same JVM, MiniCluster). */
  static final AtomicLong COUNT = new AtomicLong();
  static final AtomicLong FIRST_NANOS = new AtomicLong();
  static final AtomicLong LAST_NANOS = new AtomicLong();
  /** Checkpoint id → events the counter had seen when the checkpoint was taken. */
  static final ConcurrentHashMap<Long, Long> SNAPSHOT_COUNTS = new ConcurrentHashMap<>();
  /** Completed checkpoints, newest: id and the events it covers. */
  static final AtomicLong LAST_COMPLETED_ID = new AtomicLong(-1);
  static final AtomicLong LAST_COMPLETED_COUNT = new AtomicLong(-1);

  static void reset() {
    COUNT.set(0);
    FIRST_NANOS.set(0);
    LAST_NANOS.set(0);
    SNAPSHOT_COUNTS.clear();
    LAST_COMPLETED_ID.set(-1);
    LAST_COMPLETED_COUNT.set(-1);
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

  /** Counts events right after the source; records which checkpoint covers how many. */
  static final class Counter<T> extends RichMapFunction<T, T>
      implements CheckpointedFunction, CheckpointListener {
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

    @Override
    public void snapshotState(FunctionSnapshotContext context) {
      SNAPSHOT_COUNTS.put(context.getCheckpointId(), COUNT.get());
    }

    @Override
    public void initializeState(FunctionInitializationContext context) {}

    @Override
    public void notifyCheckpointComplete(long checkpointId) {
      Long covered = SNAPSHOT_COUNTS.get(checkpointId);
      if (covered != null && checkpointId > LAST_COMPLETED_ID.get()) {
        LAST_COMPLETED_ID.set(checkpointId);
        LAST_COMPLETED_COUNT.set(covered);
      }
    }
  }

  /** Bytes of the newest {@code chk-N} directory under {@code root} (a full checkpoint). */
  static long checkpointBytes(Path root, long checkpointId) throws IOException {
    Optional<Path> dir;
    try (Stream<Path> walk = Files.walk(root)) {
      dir = walk.filter(p -> p.getFileName().toString().equals("chk-" + checkpointId)).findFirst();
    }
    if (dir.isEmpty()) {
      throw new IOException("checkpoint chk-" + checkpointId + " not found under " + root);
    }
    try (Stream<Path> files = Files.walk(dir.get())) {
      long total = 0;
      for (Path p : (Iterable<Path>) files.filter(Files::isRegularFile)::iterator) {
        total += Files.size(p); // a file deleted meanwhile throws: the caller measures again
      }
      return total;
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause();
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
