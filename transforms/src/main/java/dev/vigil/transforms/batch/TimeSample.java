package dev.vigil.transforms.batch;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.io.EventJson;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.apache.avro.Schema;
import org.apache.avro.file.DataFileReader;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.IndexedRecord;
import org.apache.avro.specific.SpecificData;
import org.apache.flink.core.fs.FileSystem;

/**
 * The time bounds of the output parts ({@link TimeRanges}), from event times sampled at evenly
 * spaced byte offsets of the input (the first line after each offset; for Avro, the first record
 * after the next sync marker): quantiles of the sample, so the parts get about equal shares of the
 * events. Runs on the client before the job, reading a few KB per sample. A sample that does not
 * parse is skipped: the job itself reports bad input, with its line.
 */
final class TimeSample {
  private TimeSample() {}

  /** Samples per part: the bounds' error is about 1/√(this) of a part's share. */
  static final int PER_PART = 64;

  /** Ascending bounds for {@code parts} parts (fewer when the sample is empty). */
  static long[] bounds(InputFiles input, Schema schema, EntityEngine engine, int parts)
      throws IOException {
    if (parts <= 1) {
      return new long[0];
    }
    long[] times = sample(input, schema, engine, PER_PART * parts);
    if (times.length == 0) {
      return new long[0];
    }
    Arrays.sort(times);
    long[] bounds = new long[parts - 1];
    for (int p = 1; p < parts; p++) {
      bounds[p - 1] = times[(int) ((long) p * times.length / parts)];
    }
    return bounds;
  }

  private static long[] sample(InputFiles input, Schema schema, EntityEngine engine, int samples)
      throws IOException {
    long total = input.totalBytes();
    if (total == 0) {
      return new long[0];
    }
    EventJson json = new EventJson(schema);
    long[] times = new long[samples];
    int n = 0;
    long base = 0;
    for (Path file : input.files()) {
      long size = Files.size(file);
      // The samples whose offsets (k * total / samples) fall in this file.
      int from = (int) Math.ceil((double) base * samples / total);
      int to = (int) Math.min(samples, Math.ceil((double) (base + size) * samples / total));
      for (int k = from; k < to; k++) {
        long offset = (long) ((double) k * total / samples) - base;
        Long t = InputFiles.isAvro(file.getFileName().toString())
            ? avroTimeAt(file, offset, schema, engine)
            : jsonTimeAt(file, offset, json, engine);
        if (t != null) {
          times[n++] = t;
        }
      }
      base += size;
    }
    return Arrays.copyOf(times, n);
  }

  private static Long jsonTimeAt(Path file, long offset, EventJson json, EntityEngine engine)
      throws IOException {
    org.apache.flink.core.fs.Path p = new org.apache.flink.core.fs.Path(file.toUri());
    try (LineSplitReader lines =
        new LineSplitReader(FileSystem.getLocalFileSystem().open(p), offset, Long.MAX_VALUE)) {
      String line = lines.next();
      return line == null ? null : engine.eventTimeOf(json.parse(line));
    } catch (EventJson.BadEventException | RuntimeException e) {
      return null;
    }
  }

  private static Long avroTimeAt(Path file, long offset, Schema schema, EntityEngine engine) {
    try (DataFileReader<IndexedRecord> r = new DataFileReader<>(file.toFile(),
        new GenericDatumReader<>(null, schema, SpecificData.getForSchema(schema)))) {
      r.sync(offset);
      return r.hasNext() ? engine.eventTimeOf(r.next()) : null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
