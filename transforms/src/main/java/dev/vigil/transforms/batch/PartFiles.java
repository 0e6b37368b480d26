package dev.vigil.transforms.batch;

import dev.vigil.transforms.io.FeatureRow;
import dev.vigil.transforms.offline.Backfill;
import dev.vigil.transforms.offline.ParquetRowSink;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.Serializable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import org.apache.avro.Schema;

/**
 * The part files of a batch backfill's output directory: {@code part-00000.parquet} (or {@code
 * .jsonl} when the directory's name ends in {@code .jsonl}), one per subtask, in output order.
 * Parquet as {@link ParquetRowSink} writes it; JSON lines as {@link FeatureRow#toJson}, so part
 * files concatenated equal the single-JVM backfill's output byte for byte.
 */
record PartFiles(boolean json, String rowSchemaJson, List<String> featureNames)
    implements Serializable {
  static final Pattern NAME = Pattern.compile("part-\\d{5}\\.(parquet|jsonl)");

  PartFiles {
    featureNames = List.copyOf(featureNames);
  }

  /** Part files for the output directory {@code dir}, by its name. */
  static PartFiles forOutput(Path dir, Schema rowSchema, List<String> featureNames) {
    String name = dir.getFileName().toString().toLowerCase(Locale.ROOT);
    boolean json = name.endsWith(".jsonl") || name.endsWith(".json") || name.endsWith(".ndjson");
    return new PartFiles(json, rowSchema.toString(), featureNames);
  }

  /** The name of subtask {@code index}'s part. */
  String name(int index) {
    return String.format(Locale.ROOT, "part-%05d.%s", index, json ? "jsonl" : "parquet");
  }

  /** Opens {@code file} for writing rows, replacing it. */
  Backfill.RowSink open(Path file) throws IOException {
    if (!json) {
      return new ParquetRowSink(file, new Schema.Parser().parse(rowSchemaJson));
    }
    BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.UTF_8);
    return new Backfill.RowSink() {
      @Override
      public void write(FeatureRow row) throws IOException {
        w.write(row.toJson(featureNames));
        w.write('\n');
      }

      @Override
      public void close() throws IOException {
        w.close();
      }
    };
  }
}
