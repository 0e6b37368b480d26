package dev.vigil.schemas.contracts;

import java.util.ArrayList;
import java.util.List;
import org.apache.avro.Schema;
import org.apache.avro.SchemaCompatibility;
import org.apache.avro.SchemaCompatibility.Incompatibility;
import org.apache.avro.SchemaCompatibility.SchemaCompatibilityType;
import org.apache.avro.SchemaCompatibility.SchemaIncompatibilityType;

/**
 * Checks a candidate schema against a subject's previous versions at a Confluent compatibility
 * level, and against the consumer manifest.
 *
 * <p>Reader/writer compatibility is Avro's own {@link SchemaCompatibility}, as in Confluent Schema
 * Registry, so the verdicts are the registry's; what this adds is the report: each incompatibility
 * with its rule, the field path, both types and a one-line fix.
 */
public final class ContractChecker {
  private ContractChecker() {}

  /** A previous version and the label reports use for it ({@code v3}, {@code old.avsc}). */
  public record Previous(String label, Schema schema) {}

  /**
   * Checks {@code candidate} against {@code previousOldestFirst} at {@code level}; with a
   * manifest, also against what consumers read (at every level, NONE included).
   */
  public static ContractReport check(
      Schema candidate,
      List<Previous> previousOldestFirst,
      CompatibilityLevel level,
      ConsumerManifest.Subject consumers) {
    List<Violation> violations = new ArrayList<>();
    List<String> checked = new ArrayList<>();
    List<String> notes = new ArrayList<>();
    if (previousOldestFirst.isEmpty()) {
      notes.add("no previous version: nothing to be compatible with");
      return new ContractReport(level, checked, violations, notes);
    }
    List<Previous> compared =
        level.transitive()
            ? previousOldestFirst
            : List.of(previousOldestFirst.get(previousOldestFirst.size() - 1));
    if (level != CompatibilityLevel.NONE) {
      // Newest first, like the registry; the report lists them oldest first.
      for (int i = compared.size() - 1; i >= 0; i--) {
        Previous previous = compared.get(i);
        if (level.backward()) {
          compare(candidate, previous, true, violations);
        }
        if (level.forward()) {
          compare(candidate, previous, false, violations);
        }
      }
      compared.forEach(p -> checked.add(p.label()));
    }
    if (consumers != null) {
      Previous latest = previousOldestFirst.get(previousOldestFirst.size() - 1);
      violations.addAll(ConsumerContractChecker.check(candidate, latest, consumers));
      if (!checked.contains(latest.label())) {
        checked.add(latest.label());
      }
    }
    return new ContractReport(level, checked, violations, notes);
  }

  private static void compare(
      Schema candidate, Previous previous, boolean newReadsOld, List<Violation> out) {
    Schema reader = newReadsOld ? candidate : previous.schema();
    Schema writer = newReadsOld ? previous.schema() : candidate;
    SchemaCompatibility.SchemaPairCompatibility result =
        SchemaCompatibility.checkReaderWriterCompatibility(reader, writer);
    if (result.getType() == SchemaCompatibilityType.COMPATIBLE) {
      return;
    }
    String direction =
        newReadsOld
            ? "the new schema reads data written with " + previous.label() + " (backward)"
            : previous.label() + " reads data written with the new schema (forward)";
    for (Incompatibility incompatibility : result.getResult().getIncompatibilities()) {
      out.add(describe(incompatibility, candidate, previous, newReadsOld, direction));
    }
  }

  private static Violation describe(
      Incompatibility incompatibility,
      Schema candidate,
      Previous previous,
      boolean newReadsOld,
      String direction) {
    Schema reader = newReadsOld ? candidate : previous.schema();
    String path = FieldPaths.of(reader, incompatibility.getLocation());
    String oldType = typeAt(previous.schema(), path, incompatibility, !newReadsOld);
    String newType = typeAt(candidate, path, incompatibility, newReadsOld);
    SchemaIncompatibilityType type = incompatibility.getType();
    String where = path.isEmpty() ? "the record" : "field '" + path + "'";
    String detail = incompatibility.getMessage();
    String message;
    String hint;
    switch (type) {
      case READER_FIELD_MISSING_DEFAULT_VALUE -> {
        String field = path.isEmpty() ? detail : path;
        if (newReadsOld) {
          message =
              "new field '" + field + "' has no default, so the new schema cannot read records"
                  + " written with " + previous.label();
          hint =
              "give '" + field + "' a default, e.g. \"type\": [\"null\", ...], \"default\": null";
          oldType = "(absent)";
        } else {
          message =
              "field '" + field + "' was removed, but " + previous.label()
                  + " reads it and has no default for it";
          hint =
              "keep '" + field + "', or first release a version where it has a default, then"
                  + " remove it";
          newType = "(absent)";
        }
      }
      case TYPE_MISMATCH -> {
        message = where + " changed type from " + oldType + " to " + newType
            + ", which Avro cannot resolve (" + detail + ")";
        hint =
            "keep the type; Avro only promotes int→long→float→double and string↔bytes; to change"
                + " it, add a new field with a default and deprecate this one";
      }
      case NAME_MISMATCH -> {
        message = "the named type at " + where + " was renamed (" + detail + ")";
        hint = "keep the full name, or add the old one to \"aliases\" of the renamed type";
      }
      case FIXED_SIZE_MISMATCH -> {
        message = "the fixed type at " + where + " changed size (" + detail + ")";
        hint = "keep the size; a different size is a different type: add a new field";
      }
      case MISSING_ENUM_SYMBOLS -> {
        message = "the enum at " + where + " cannot read symbols it lacks: " + detail;
        hint =
            "keep every symbol, or give the reading enum a \"default\" symbol so unknown ones map"
                + " to it";
      }
      case MISSING_UNION_BRANCH -> {
        message = "the union at " + where + " lacks a branch the data can hold: " + detail;
        hint = "keep the union's branches; add branches, never remove them";
      }
      default -> {
        message = where + ": " + detail;
        hint = "see Avro's schema resolution rules";
      }
    }
    return new Violation(
        type.name(), previous.label(), direction, path, oldType, newType, message, hint,
        List.of(), List.of());
  }

  /** The type of the field at {@code path} in {@code schema}, or of the problem's own node. */
  private static String typeAt(
      Schema schema, String path, Incompatibility incompatibility, boolean isReader) {
    if (path.isEmpty()) {
      return FieldPaths.typeName(isReader ? incompatibility.getReaderFragment()
          : incompatibility.getWriterFragment());
    }
    Schema.Field field = FieldPaths.find(schema, path.replace("[]", "").replace("{}", ""));
    return field == null ? "(absent)" : FieldPaths.typeName(field.schema());
  }
}
