package dev.vigil.transforms.offline;

import dev.vigil.transforms.io.EventFiles;
import java.io.Closeable;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;
import java.util.function.Predicate;
import java.util.function.ToLongFunction;
import org.apache.avro.Schema;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.file.DataFileWriter;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.specific.SpecificData;

/**
 * The events of a reader in event-time order, ties in file order, in bounded memory: runs of
 * {@code runSize} events are sorted in memory and spilled as Avro files to a temporary directory,
 * then merged. Memory: one run plus one event per run. What {@code features backfill} and {@code
 * state bootstrap} do with a file that is not in time order.
 *
 * <pre>
 * try (ExternalSort sorted = ExternalSort.of(reader, schema, timeOf, runSize, keep, progress)) {
 *   for (IndexedRecord e; (e = sorted.next()) != null; ) { ... }
 * }
 * </pre>
 */
public final class ExternalSort implements Closeable {
  private final Path dir;
  private final List<Path> runs;
  private final ToLongFunction<IndexedRecord> timeOf;
  private final long kept;
  private final long skipped;
  private final List<DataFileReader<IndexedRecord>> readers = new ArrayList<>();
  private final List<IndexedRecord> current = new ArrayList<>();
  /** {time, run}: ties across runs go to the earlier run, which holds the earlier part. */
  private final PriorityQueue<long[]> heads = new PriorityQueue<>(
      Comparator.<long[]>comparingLong(h -> h[0]).thenComparingLong(h -> h[1]));

  private ExternalSort(Path dir, List<Path> runs, ToLongFunction<IndexedRecord> timeOf,
      long kept, long skipped,
      Schema schema) throws IOException {
    this.dir = dir;
    this.runs = runs;
    this.timeOf = timeOf;
    this.kept = kept;
    this.skipped = skipped;
    SpecificData data = SpecificData.getForSchema(schema);
    for (int i = 0; i < runs.size(); i++) {
      DataFileReader<IndexedRecord> r = new DataFileReader<>(runs.get(i).toFile(),
          new GenericDatumReader<>(schema, schema, data));
      readers.add(r);
      IndexedRecord first = r.next();
      current.add(first);
      heads.add(new long[] {timeOf.applyAsLong(first), i});
    }
  }

  /**
   * Reads {@code reader} to its end (closing it), spilling sorted runs.
   *
   * @param timeOf an event's time, epoch millis (the engine's {@code eventTimeOf})
   * @param keep which events to sort; the others are counted in {@link #skipped} and dropped
   * @param progress ticked per event read
   */
  public static ExternalSort of(EventFiles.Reader reader, Schema schema,
      ToLongFunction<IndexedRecord> timeOf, int runSize, Predicate<IndexedRecord> keep,
      Progress progress)
      throws EventFiles.BadInputException, IOException {
    if (runSize < 1) {
      throw new IllegalArgumentException("run size must be at least 1, got " + runSize);
    }
    SpecificData data = SpecificData.getForSchema(schema);
    Comparator<IndexedRecord> byTime = Comparator.comparingLong(timeOf);
    Path dir = Files.createTempDirectory("vigil-sort");
    List<Path> runs = new ArrayList<>();
    long seen = 0;
    long kept = 0;
    try (reader) {
      List<IndexedRecord> run = new ArrayList<>(Math.min(runSize, 1 << 20));
      while (true) {
        IndexedRecord e = reader.next();
        if (e != null) {
          progress.tick(++seen, reader.bytesRead());
          if (keep.test(e)) {
            run.add(e);
            kept++;
          }
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
      return new ExternalSort(dir, runs, timeOf, kept, seen - kept, schema);
    } catch (EventFiles.BadInputException | IOException | RuntimeException e) {
      delete(dir, runs);
      throw e;
    }
  }

  /** The next event in time order, or null after the last. */
  public IndexedRecord next() throws IOException {
    long[] head = heads.poll();
    if (head == null) {
      return null;
    }
    int i = (int) head[1];
    IndexedRecord e = current.get(i);
    DataFileReader<IndexedRecord> r = readers.get(i);
    if (r.hasNext()) {
      IndexedRecord next = r.next();
      current.set(i, next);
      heads.add(new long[] {timeOf.applyAsLong(next), i});
    }
    return e;
  }

  /** Events sorted (kept). */
  public long events() {
    return kept;
  }

  /** Events read but not kept. */
  public long skipped() {
    return skipped;
  }

  /** Runs spilled. */
  public int runs() {
    return runs.size();
  }

  /** Closes the runs and deletes them. */
  @Override
  public void close() throws IOException {
    IOException failure = null;
    for (DataFileReader<IndexedRecord> r : readers) {
      try {
        r.close();
      } catch (IOException e) {
        failure = e;
      }
    }
    delete(dir, runs);
    if (failure != null) {
      throw failure;
    }
  }

  private static void delete(Path dir, List<Path> runs) throws IOException {
    for (Path p : runs) {
      Files.deleteIfExists(p);
    }
    Files.deleteIfExists(dir);
  }
}
