package dev.vigil.transforms.offline;

import dev.vigil.transforms.io.EventFiles;
import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.apache.avro.generic.IndexedRecord;

/**
 * {@code features backfill}: point-in-time feature vectors for every event of a file — training
 * data computed by the serving engine.
 *
 * <p>Events are processed in event-time order (ties in file order). A time-ordered file streams
 * straight through; otherwise it is sorted externally: runs of {@code runSize} events are sorted
 * in memory and spilled as Avro files, then merged. Memory is bounded by the run size plus the
 * per-key feature state, not by the number of events. Output rows are in event-time order.
 */
public final class Backfill {
  /** What a backfill did. */
  public record Summary(long events, long late, double seconds, boolean sorted, int runs) {}

  private final CompiledSpec spec;
  private final int runSize;
  private final PrintStream progressOut;

  public Backfill(CompiledSpec spec, int runSize, PrintStream progressOut) {
    this.spec = spec;
    this.runSize = runSize;
    this.progressOut = progressOut;
  }

  public Summary run(Path input, Path output) throws EventFiles.BadInputException, IOException {
    Path tmp = output.toAbsolutePath().resolveSibling(output.getFileName() + ".partial");
    Files.createDirectories(tmp.getParent());
    long size = Files.size(input);
    Summary summary;
    try (RowSink sink = RowSink.open(tmp, spec)) {
      summary = streamIfOrdered(input, sink, size);
    }
    if (summary == null) {
      // Not in time order: sort externally, then evaluate from the merged runs.
      try (RowSink sink = RowSink.open(tmp, spec)) {
        summary = sortThenEvaluate(input, sink, size);
      }
    }
    Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    return summary;
  }

  /** Evaluates in file order; null as soon as an event is older than the one before it. */
  private Summary streamIfOrdered(Path input, RowSink sink, long size)
      throws EventFiles.BadInputException, IOException {
    PointInTimeEvaluator evaluator = new PointInTimeEvaluator(spec);
    Progress progress = new Progress(progressOut, "backfill", size, 2000);
    long events = 0;
    long previous = Long.MIN_VALUE;
    try (EventFiles.Reader reader = EventFiles.open(input, spec.schema())) {
      IndexedRecord e;
      while ((e = reader.next()) != null) {
        long t = evaluator.engines().get(0).eventTimeOf(e);
        if (t < previous) {
          progressOut.printf("backfill: %s is not in event-time order (at %s); sorting it first%n",
              input, reader.position());
          return null;
        }
        previous = t;
        sink.write(evaluator.process(e));
        progress.tick(++events, reader.bytesRead());
      }
    }
    return new Summary(events, evaluator.lateCount(), progress.seconds(), false, 0);
  }

  private Summary sortThenEvaluate(Path input, RowSink sink, long size)
      throws EventFiles.BadInputException, IOException {
    Progress progress = new Progress(progressOut, "backfill (sorting)", size, 2000);
    PointInTimeEvaluator evaluator = new PointInTimeEvaluator(spec);
    try (ExternalSort sorted = ExternalSort.of(EventFiles.open(input, spec.schema()),
        spec.schema(), evaluator.engines().get(0)::eventTimeOf, runSize, e -> true, progress)) {
      Progress merging = new Progress(progressOut, "backfill", sorted.events(), 2000);
      long done = 0;
      for (IndexedRecord e; (e = sorted.next()) != null; ) {
        sink.write(evaluator.process(e));
        merging.tick(++done, done);
      }
      return new Summary(done, evaluator.lateCount(), progress.seconds(), true, sorted.runs());
    }
  }

  /** Where feature rows go: JSON lines or Parquet, by the file's extension. */
  public interface RowSink extends Closeable {
    void write(FeatureRow row) throws IOException;

    static RowSink open(Path file, CompiledSpec spec) throws IOException {
      String name = file.getFileName().toString().replace(".partial", "");
      if (name.endsWith(".jsonl") || name.endsWith(".json") || name.endsWith(".ndjson")) {
        BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
        List<String> names = spec.spec().featureNames();
        return new RowSink() {
          @Override
          public void write(FeatureRow row) throws IOException {
            w.write(row.toJson(names));
            w.write('\n');
          }

          @Override
          public void close() throws IOException {
            w.close();
          }
        };
      }
      if (name.endsWith(".parquet")) {
        return new ParquetRowSink(file, spec);
      }
      throw new IOException(file.resolveSibling(name) + ": unknown output format; use .jsonl (JSON"
          + " lines) or .parquet");
    }
  }
}
