package dev.vigil.transforms.flink;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.spec.Durations;
import dev.vigil.transforms.spec.FeatureDef;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a feature stage's state depends on, as text kept in its operator state: its features in
 * order, each with its aggregation, field, window and resolution (the state's layout). A restore
 * under another description is refused with what changed ({@link #difference}). Plain Java.
 */
public final class StageSpec {
  private StageSpec() {}

  /** One line per feature of {@code engine}, in state order. */
  public static String describe(EntityEngine engine) {
    StringBuilder b = new StringBuilder();
    for (FeatureDef f : engine.features()) {
      if (b.length() > 0) {
        b.append('\n');
      }
      b.append(line(f));
    }
    return b.toString();
  }

  static String line(FeatureDef f) {
    String agg = f.aggregation().specName() + (f.field() == null ? "" : "(" + f.field() + ")");
    String window = f.lifetime() ? "lifetime"
        : "window " + Durations.format(f.windowMillis()) + " resolution "
            + Durations.format(f.resolutionMillis());
    return f.name() + ": " + agg + " " + window;
  }

  /**
   * Null when {@code stored} and {@code current} describe the same state; otherwise the refusal:
   * what was removed, added, changed or moved, and the command that migrates.
   */
  public static String difference(String entity, String stored, String current) {
    if (stored.equals(current)) {
      return null;
    }
    Map<String, String> before = byName(stored);
    Map<String, String> after = byName(current);
    List<String> removed = new ArrayList<>();
    List<String> changed = new ArrayList<>();
    List<String> added = new ArrayList<>();
    before.forEach((name, line) -> {
      String now = after.get(name);
      if (now == null) {
        removed.add(line);
      } else if (!now.equals(line)) {
        changed.add(line + " -> " + now.substring(now.indexOf(": ") + 2));
      }
    });
    after.forEach((name, line) -> {
      if (!before.containsKey(name)) {
        added.add(line);
      }
    });
    StringBuilder b = new StringBuilder("feature stage '" + entity + "': the state being restored"
        + " was written under another spec for this entity, and restoring it would misread it.");
    section(b, "removed", removed);
    section(b, "changed", changed);
    section(b, "added", added);
    if (removed.isEmpty() && changed.isEmpty() && added.isEmpty()) {
      b.append("\n  reordered: the same features in another order (the state is laid out in"
          + " spec order)\n    was: ").append(String.join(", ", before.keySet()))
          .append("\n    now: ").append(String.join(", ", after.keySet()));
    }
    b.append("\nTo go on with this state, deploy the spec it was written under.");
    if (removed.isEmpty() && changed.isEmpty() && !added.isEmpty()) {
      b.append(" To add the new features to it, stop the job with a savepoint and run `vigil"
          + " state add-feature --savepoint <it> --old-spec <the old spec> --spec <this spec>"
          + " --input <history> --savepoint-out <new>`, then start from the new savepoint.");
    } else {
      b.append(" To change or remove features, rebuild the state from history for this spec with"
          + " `vigil state bootstrap` and start from that savepoint.");
    }
    b.append(" See docs/state-tools.md.");
    return b.toString();
  }

  private static void section(StringBuilder b, String what, List<String> lines) {
    for (String l : lines) {
      b.append("\n  ").append(what).append(": ").append(l);
    }
  }

  private static Map<String, String> byName(String description) {
    Map<String, String> m = new LinkedHashMap<>();
    for (String line : description.split("\n")) {
      if (!line.isBlank()) {
        m.put(line.substring(0, line.indexOf(": ")), line);
      }
    }
    return m;
  }
}
