package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** docs/scoring-job.md's table of configuration keys is the job's: the same keys and defaults. */
class ConfigDocsTest {
  @Test
  void theDocumentedKeysAndDefaultsAreTheJobs() throws Exception {
    List<String> lines = Files.readAllLines(Path.of("..", "docs", "scoring-job.md"));
    int header = lines.indexOf("| key | default | meaning |");
    assertThat(header).as("the configuration table's header in docs/scoring-job.md").isPositive();
    Map<String, String> documented = new LinkedHashMap<>();
    for (int i = header + 2; i < lines.size() && lines.get(i).startsWith("| `"); i++) {
      String[] cells = lines.get(i).split("\\|");
      String key = cells[1].trim().replace("`", "");
      String def = cells[2].trim().replace("`", "");
      if (key.contains("<property>")) {
        continue; // the Kafka pass-through prefixes, not keys of their own
      }
      documented.put(key, def.equals("—") ? null : def);
    }
    Map<String, String> keys = new LinkedHashMap<>();
    for (ScoringConfig.Key k : ScoringConfig.KEYS) {
      // A key without a default value may document the default it derives (in words).
      keys.put(k.name(), k.defaultValue() == null ? documented.get(k.name()) : k.defaultValue());
    }
    assertThat(documented.keySet()).as("docs/scoring-job.md's keys against ScoringConfig.KEYS")
        .containsExactlyInAnyOrderElementsOf(keys.keySet());
    assertThat(documented).as("docs/scoring-job.md's key table (key -> default) against"
        + " ScoringConfig.KEYS").isEqualTo(keys);
  }
}
