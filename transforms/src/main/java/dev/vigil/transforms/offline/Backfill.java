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
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import org.apache.avro.Schema;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.specific.SpecificData;

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
    Schema schema = spec.schema();
    SpecificData data = SpecificData.getForSchema(schema);
    Path dir = Files.createTempDirectory("vigil-backfill-sort");
    List<Path> runs = new ArrayList<>();
    Progress progress = new Progress(progressOut, "backfill (sorting)", size, 2000);
    int timePos = spec.eventTime().position();
    Comparator<IndexedRecord> byTime = Comparator.comparingLong(r -> time(r.get(timePos)));
    try {
      long events = 0;
      try (EventFiles.Reader reader = EventFiles.open(input, schema)) {
        List<IndexedRecord> run = new ArrayList<>(Math.min(runSize, 1 << 20));
        IndexedRecord e;
        while (true) {
          e = reader.next();
          if (e != null) {
            run.add(e);
            progress.tick(++events, reader.bytesRead());
          }
          if (run.size() >= runSize || (e == null && !run.isEmpty())) {
            run.sort(byTime); // stable: ties keep file order
            Path file = dir.resolve("run-" + runs.size() + ".avro");
            try (DataFileWriter<IndexedRecord> w =
                new DataFileWriter<>(new GenericDatumWriter<IndexedRecord>(schema, data))) {
              w.create(schema, file.toFile());
              for (IndexedRecord r : run) {
                w.append(r);
              }
            }
            runs.add(file);
            run.clear();
          }
          if (e == null) {
            break;
          }
        }
      }
      PointInTimeEvaluator evaluator = new PointInTimeEvaluator(spec);
      Progress merging = new Progress(progressOut, "backfill", events, 2000);
      long done = 0;
      List<DataFileReader<IndexedRecord>> readers = new ArrayList<>();
      try {
        // Ties across runs: the earlier run holds the earlier part of the file.
        PriorityQueue<long[]> heads = new PriorityQueue<>(
            Comparator.<long[]>comparingLong(h -> h[0]).thenComparingLong(h -> h[1]));
        List<IndexedRecord> current = new ArrayList<>();
        for (int i = 0; i < runs.size(); i++) {
          DataFileReader<IndexedRecord> r = new DataFileReader<>(runs.get(i).toFile(),
              new GenericDatumReader<>(schema, schema, data));
          readers.add(r);
          IndexedRecord first = r.next();
          current.add(first);
          heads.add(new long[] {time(first.get(timePos)), i});
        }
        while (!heads.isEmpty()) {
          long[] head = heads.poll();
          int i = (int) head[1];
          sink.write(evaluator.process(current.get(i)));
          merging.tick(++done, done);
          DataFileReader<IndexedRecord> r = readers.get(i);
          if (r.hasNext()) {
            IndexedRecord next = r.next();
            current.set(i, next);
            heads.add(new long[] {time(next.get(timePos)), i});
          }
        }
      } finally {
        for (DataFileReader<IndexedRecord> r : readers) {
          r.close();
        }
      }
      return new Summary(done, evaluator.lateCount(), progress.seconds(), true, runs.size());
    } finally {
      for (Path p : runs) {
        Files.deleteIfExists(p);
      }
      Files.deleteIfExists(dir);
    }
  }

  private static long time(Object v) {
    return v instanceof java.time.Instant i ? i.toEpochMilli() : ((Number) v).longValue();
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
