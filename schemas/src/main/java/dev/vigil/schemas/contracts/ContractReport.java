package dev.vigil.schemas.contracts;

import java.util.List;

/**
 * The verdict on one candidate schema.
 *
 * @param level the level it was checked at
 * @param checkedAgainst the previous versions it was compared with, oldest first
 * @param violations everything that breaks; empty when compatible
 * @param notes facts worth saying that are not violations (e.g. "subject has no versions yet")
 */
public record ContractReport(
    CompatibilityLevel level,
    List<String> checkedAgainst,
    List<Violation> violations,
    List<String> notes) {

  public ContractReport {
    checkedAgainst = List.copyOf(checkedAgainst);
    violations = List.copyOf(violations);
    notes = List.copyOf(notes);
  }

  public boolean compatible() {
    return violations.isEmpty();
  }
}
