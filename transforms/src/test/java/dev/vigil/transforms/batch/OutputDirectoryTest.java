package dev.vigil.transforms.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.vigil.transforms.io.EventFiles;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OutputDirectoryTest {
  @TempDir Path dir;

  @Test
  void theOutputAppearsOnlyOnCommitAndReplacesAPreviousOne() throws Exception {
    Path out = dir.resolve("features");
    Files.createDirectories(out);
    Files.writeString(out.resolve("part-00000.parquet"), "old");
    Files.writeString(out.resolve("part-00001.parquet"), "old");

    OutputDirectory d = OutputDirectory.prepare(out);
    Files.writeString(d.partial().resolve("part-00000.parquet"), "new");
    assertThat(Files.readString(out.resolve("part-00001.parquet"))).isEqualTo("old");
    d.commit();
    assertThat(OutputDirectory.parts(out)).containsExactly(out.resolve("part-00000.parquet"));
    assertThat(Files.readString(out.resolve("part-00000.parquet"))).isEqualTo("new");
    assertThat(dir.resolve("features.partial")).doesNotExist();
    try (var left = Files.list(dir)) {
      assertThat(left).containsExactly(out); // the replaced output is gone
    }
  }

  @Test
  void anAbortedRunLeavesNothingAndTheOldOutputAsItWas() throws Exception {
    Path out = dir.resolve("features");
    Files.createDirectories(out);
    Files.writeString(out.resolve("part-00000.parquet"), "old");
    OutputDirectory d = OutputDirectory.prepare(out);
    Files.writeString(d.partial().resolve("part-00000.parquet"), "half");
    d.abort();
    assertThat(d.partial()).doesNotExist();
    assertThat(Files.readString(out.resolve("part-00000.parquet"))).isEqualTo("old");
  }

  @Test
  void neverDeletesWhatIsNotABackfillsOutput() throws Exception {
    Path file = dir.resolve("features.parquet");
    Files.writeString(file, "a single-JVM output");
    assertThatThrownBy(() -> OutputDirectory.prepare(file))
        .isInstanceOf(EventFiles.BadInputException.class)
        .hasMessageContaining("features.parquet: exists and is not a backfill's output directory")
        .hasMessageContaining("choose another --output");
    Path home = dir.resolve("home");
    Files.createDirectories(home);
    Files.writeString(home.resolve("notes.txt"), "keep");
    assertThatThrownBy(() -> OutputDirectory.prepare(home)).hasMessageContaining("home: exists");
    assertThat(home.resolve("notes.txt")).exists();
  }
}
