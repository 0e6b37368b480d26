package dev.vigil.schemas.contracts.cli;

import static dev.vigil.schemas.contracts.cli.CliRun.write;
import static org.assertj.core.api.Assertions.assertThat;

import dev.vigil.schemas.registry.SchemaRegistryClient;
import dev.vigil.infra.registry.ApicurioRegistry;
import java.nio.file.Path;
import java.util.UUID;
import org.apache.avro.Schema;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code contracts check --registry}: the subject's versions and level come from a real registry. */
class OnlineCheckITCase {
  @TempDir Path dir;

  @Test
  void usesTheSubjectsVersionsAndItsOwnLevel() throws Exception {
    String url = ApicurioRegistry.shared().confluentApiUrl();
    SchemaRegistryClient client = SchemaRegistryClient.of(url);
    String subject = "online-" + UUID.randomUUID() + "-value";
    client.register(subject, new Schema.Parser().parse(CliRun.V1));
    client.register(subject, new Schema.Parser().parse(CliRun.V2));
    client.setCompatibility(subject, "FORWARD");
    Path candidate = write(dir, "new.avsc", CliRun.NEW_REQUIRED);
    Path compatibleCandidate = write(dir, "v3.avsc", CliRun.V2);

    // A new required field is FORWARD-compatible (old readers ignore it): the subject's level.
    CliRun forward = CliRun.of("check", "--registry", url, "--subject", subject,
        "--schema", candidate.toString());
    assertThat(forward.exit()).as(forward.out() + forward.err()).isZero();
    assertThat(forward.out()).contains("COMPATIBLE at FORWARD against v2");

    // An explicit level wins, and transitive levels see every version.
    CliRun backward = CliRun.of("check", "--registry", url, "--subject", subject,
        "--schema", candidate.toString(), "--compatibility", "BACKWARD_TRANSITIVE");
    assertThat(backward.exit()).isEqualTo(1);
    assertThat(backward.out()).contains("against v1, v2").contains("risk");

    CliRun same = CliRun.of("check", "--registry", url, "--subject", subject,
        "--schema", compatibleCandidate.toString(), "--compatibility", "FULL_TRANSITIVE");
    assertThat(same.exit()).isZero();
  }

  @Test
  void aSubjectWithoutVersionsIsCompatible() throws Exception {
    String url = ApicurioRegistry.shared().confluentApiUrl();
    Path candidate = write(dir, "new.avsc", CliRun.V1);
    CliRun run = CliRun.of("check", "--registry", url, "--subject", "nobody-" + UUID.randomUUID(),
        "--schema", candidate.toString());
    assertThat(run.exit()).isZero();
    assertThat(run.out()).contains("no previous version");
  }
}
