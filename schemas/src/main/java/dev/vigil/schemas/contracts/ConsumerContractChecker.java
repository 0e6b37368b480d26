package dev.vigil.schemas.contracts;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;

/**
 * Catches the changes a registry accepts but that break what consumers read: a read field
 * removed (Avro readers silently fill in its default), renamed without an alias, or retyped.
 */
final class ConsumerContractChecker {
  private ConsumerContractChecker() {}

  static List<Violation> check(
      Schema candidate, ContractChecker.Previous latest, ConsumerManifest.Subject consumers) {
    List<Violation> out = new ArrayList<>();
    for (ConsumerManifest.Field read : consumers.fields()) {
      Schema.Field before = FieldPaths.find(latest.schema(), read.path());
      Schema.Field after = findWithAliases(candidate, read.path());
      String users = users(read);
      String oldType = before == null ? "(absent)" : FieldPaths.typeName(before.schema());
      if (after == null) {
        String renamedTo = renameCandidate(candidate, latest.schema(), read.path(), before);
        if (renamedTo != null) {
          out.add(
              violation(
                  "CONSUMER_FIELD_RENAMED", latest, read, oldType,
                  FieldPaths.typeName(FieldPaths.find(candidate, renamedTo).schema()),
                  "field '" + read.path() + "' is read by " + users + " but looks renamed to '"
                      + renamedTo + "' without an alias: readers would silently get its default",
                  "keep the name, or add \"aliases\": [\"" + leaf(read.path()) + "\"] to '"
                      + renamedTo + "'"));
        } else {
          out.add(
              violation(
                  "CONSUMER_FIELD_REMOVED", latest, read, oldType, "(absent)",
                  "field '" + read.path() + "' is read by " + users
                      + " but was removed: readers would silently get its default",
                  "keep '" + read.path() + "' until " + String.join(", ", consumersOf(read))
                      + " stop reading it (regenerate the manifest with `vigil features manifest`)"));
        }
        continue;
      }
      JsonNode expected = read.type();
      JsonNode actual = ConsumerManifest.typeOf(after.schema());
      if (!expected.equals(actual)) {
        out.add(
            violation(
                "CONSUMER_FIELD_RETYPED", latest, read, oldType, FieldPaths.typeName(after.schema()),
                "field '" + read.path() + "' is read by " + users + " as " + expected
                    + " but the new schema makes it " + actual,
                "keep the type " + expected + "; to change it, add a new field and move "
                    + String.join(", ", consumersOf(read)) + " to it first"));
      }
    }
    return out;
  }

  /** Fields present in the latest schema but absent from the manifest's view are not our concern. */
  private static Schema.Field findWithAliases(Schema schema, String path) {
    Schema.Field direct = FieldPaths.find(schema, path);
    if (direct != null) {
      return direct;
    }
    // A renamed field that lists the old name as an alias resolves for Avro readers: fine.
    String[] parts = path.split("\\.");
    Schema current = schema;
    Schema.Field field = null;
    for (String name : parts) {
      Schema record = FieldPaths.nonNullBranch(current);
      if (record.getType() != Schema.Type.RECORD) {
        return null;
      }
      field = record.getField(name);
      if (field == null) {
        field =
            record.getFields().stream()
                .filter(f -> f.aliases().contains(name))
                .findFirst()
                .orElse(null);
      }
      if (field == null) {
        return null;
      }
      current = field.schema();
    }
    return field;
  }

  /** A new sibling field of the same type where the read one disappeared: likely a rename. */
  private static String renameCandidate(
      Schema candidate, Schema previous, String path, Schema.Field before) {
    if (before == null) {
      return null;
    }
    int dot = path.lastIndexOf('.');
    String parent = dot < 0 ? "" : path.substring(0, dot);
    Schema newParent =
        parent.isEmpty() ? candidate : parentRecord(FieldPaths.find(candidate, parent));
    Schema oldParent = parent.isEmpty() ? previous : parentRecord(FieldPaths.find(previous, parent));
    if (newParent == null || oldParent == null || newParent.getType() != Schema.Type.RECORD) {
      return null;
    }
    for (Schema.Field f : newParent.getFields()) {
      if (oldParent.getField(f.name()) == null && f.schema().equals(before.schema())) {
        return parent.isEmpty() ? f.name() : parent + "." + f.name();
      }
    }
    return null;
  }

  private static Schema parentRecord(Schema.Field field) {
    return field == null ? null : FieldPaths.nonNullBranch(field.schema());
  }

  private static Violation violation(
      String rule,
      ContractChecker.Previous latest,
      ConsumerManifest.Field read,
      String oldType,
      String newType,
      String message,
      String hint) {
    return new Violation(
        rule, latest.label(), "consumers of " + latest.label() + " read the new schema",
        read.path(), oldType, newType, message, hint, read.features(), read.models());
  }

  private static String users(ConsumerManifest.Field read) {
    StringBuilder s = new StringBuilder();
    if (!read.features().isEmpty()) {
      s.append(read.features().size() == 1 ? "feature " : "features ")
          .append(String.join(", ", read.features()));
    }
    if (!read.models().isEmpty()) {
      s.append(s.length() == 0 ? "" : " ")
          .append('(')
          .append(read.models().size() == 1 ? "model " : "models ")
          .append(String.join(", ", read.models()))
          .append(')');
    }
    return s.length() == 0 ? "a consumer" : s.toString();
  }

  private static List<String> consumersOf(ConsumerManifest.Field read) {
    List<String> all = new ArrayList<>(read.features());
    all.addAll(read.models());
    return all.isEmpty() ? List.of("its consumers") : all;
  }

  private static String leaf(String path) {
    return path.substring(path.lastIndexOf('.') + 1);
  }
}
