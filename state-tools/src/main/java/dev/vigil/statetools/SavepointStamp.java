package dev.vigil.statetools;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * What a savepoint was made for, in {@value #FILE} beside its {@code _metadata}: the spec (its
 * fingerprint and text, so that {@code add-feature} can parse the old state without the old spec
 * file), the entities and their stage uids, the max parallelism (key groups), the cut-over and
 * what was counted. {@code vigil run --from-savepoint} and every {@code state} command check it
 * before touching the state, so a savepoint made for another spec or max parallelism is refused
 * with a message instead of restoring into wrong features.
 *
 * @param tool what wrote it: {@code bootstrap} or {@code add-feature}
 * @param specFingerprint {@code FeatureSpec.fingerprint()} of the spec the state was computed for
 * @param specYaml the spec's text
 * @param entities entity name → its stage uid ({@code OperatorUids.features})
 * @param maxParallelism the savepoint's key groups
 * @param cutoverMillis events strictly before this are in the state; the job starts reading here
 * @param cutover the same, ISO-8601 UTC
 * @param events events of the history counted into the state
 * @param dedupeHorizonMillis the dedupe state's horizon (0: no dedupe state written)
 * @param createdAt when the savepoint was written, ISO-8601 UTC
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record SavepointStamp(
    int version,
    String tool,
    String specFingerprint,
    String specYaml,
    Map<String, String> entities,
    int maxParallelism,
    long cutoverMillis,
    String cutover,
    long events,
    long dedupeHorizonMillis,
    String createdAt,
    List<String> history) {

  /** The stamp's file name; {@code vigil run --from-savepoint} reads the same name. */
  public static final String FILE = "vigil-savepoint.json";

  static final int VERSION = 1;

  private static final ObjectMapper JSON = new ObjectMapper()
      .setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE)
      .enable(SerializationFeature.INDENT_OUTPUT)
      .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

  public void write(Path savepointDir) throws IOException {
    Files.write(savepointDir.resolve(FILE), JSON.writeValueAsBytes(this));
  }

  /** The stamp of {@code savepointDir}, or null when it has none (e.g. a job's own savepoint). */
  public static SavepointStamp read(Path savepointDir) throws StateToolException {
    Path file = savepointDir.resolve(FILE);
    if (!Files.exists(file)) {
      return null;
    }
    try {
      return JSON.readValue(file.toFile(), SavepointStamp.class);
    } catch (IOException e) {
      throw new StateToolException(file + ": unreadable stamp (" + e.getMessage() + "); the"
          + " savepoint may be damaged: write it again with `vigil state bootstrap`");
    }
  }
}
