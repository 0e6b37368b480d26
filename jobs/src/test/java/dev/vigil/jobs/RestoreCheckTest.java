package dev.vigil.jobs;

import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.transforms.spec.CompiledSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The job's check of a state tool's savepoint stamp before it starts from it. */
class RestoreCheckTest {
  @TempDir Path dir;

  @Test
  void aToolSavepointForAnotherSpecOrMaxParallelismIsRefusedBeforeTheJobStarts() throws Exception {
    CompiledSpec spec = TestingJob.spec();
    ScoringConfig config = ScoringConfig.of(java.util.Map.of("bootstrap.servers",
        "127.0.0.1:9092", "registry.url", "http://127.0.0.1:8081",
        "spec", TestingJob.specFile().toString(),
        "model", Files.writeString(dir.resolve("model.json"), "{}").toString()));
    Path savepoint = Files.createDirectories(dir.resolve("sp"));
    assertThat(ScoringJob.restoreProblem(null, spec, config)).isNull();
    assertThat(ScoringJob.restoreProblem(savepoint.toString(), spec, config))
        .as("a job's own savepoint: no stamp, the stages check their state").isNull();

    Files.writeString(savepoint.resolve("vigil-savepoint.json"), "{\"tool\": \"bootstrap\","
        + " \"spec_fingerprint\": \"0123abcd\", \"max_parallelism\": 128,"
        + " \"entities\": {\"card\": \"features-card\"}}");
    assertThat(ScoringJob.restoreProblem(savepoint.toUri().toString(), spec, config))
        .contains("was written by `vigil state bootstrap` for another feature spec (fingerprint"
            + " 0123abcd", "is " + spec.spec().fingerprint(), "`vigil state add-feature`");

    Files.writeString(savepoint.resolve("vigil-savepoint.json"), "{\"tool\": \"bootstrap\","
        + " \"spec_fingerprint\": \"" + spec.spec().fingerprint() + "\", \"max_parallelism\": 64}");
    assertThat(ScoringJob.restoreProblem(savepoint.toString(), spec, config))
        .contains("written with max parallelism 64", "Set max.parallelism=64");

    Files.writeString(savepoint.resolve("vigil-savepoint.json"), "{\"tool\": \"bootstrap\","
        + " \"spec_fingerprint\": \"" + spec.spec().fingerprint() + "\", \"max_parallelism\": "
        + config.maxParallelism() + "}");
    assertThat(ScoringJob.restoreProblem(savepoint.toString(), spec, config)).isNull();
  }
}
