package dev.vigil.statetools;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.FeatureSpec;
import dev.vigil.transforms.spec.SpecException;
import java.nio.file.Path;
import org.apache.avro.Schema;

/** The spec a stamped savepoint was made for, rebuilt from its stamp. */
final class SavepointSpec {
  private SavepointSpec() {}

  /**
   * The stamp's spec compiled against {@code schema} (null: the bundled schema of its subject);
   * checked to have the stamp's fingerprint, so a tampered stamp cannot misread the state.
   */
  static CompiledSpec of(Savepoints.Opened sp, Schema schema) throws StateToolException {
    SavepointStamp stamp = sp.requireStamp("pass --spec with the spec it was made for");
    String where = sp.dir().resolve(SavepointStamp.FILE).toString();
    try {
      FeatureSpec spec = FeatureSpec.parse(stamp.specYaml(), where, (Path) null);
      CompiledSpec compiled = CompiledSpec.compile(spec,
          schema != null ? schema : CompiledSpec.sourceSchema(spec, where), where);
      if (!spec.fingerprint().equals(stamp.specFingerprint())) {
        throw new StateToolException(where + ": its spec text does not have its fingerprint "
            + stamp.specFingerprint() + ": the stamp is damaged");
      }
      return compiled;
    } catch (SpecException e) {
      throw new StateToolException(where + ": " + e.getMessage(), e);
    }
  }

  static EntityEngine engine(CompiledSpec spec, String entity, Path dir)
      throws StateToolException {
    return spec.engines().stream().filter(e -> e.entity().equals(entity)).findFirst()
        .orElseThrow(() -> new StateToolException(dir + " has no entity '" + entity + "' (it"
            + " holds " + spec.engines().stream().map(EntityEngine::entity).toList() + ")"));
  }
}
