package dev.vigil.transforms.spec;

import java.util.List;

/** A feature spec that cannot be used; the message lists every problem, one per line. */
public final class SpecException extends Exception {
  private static final long serialVersionUID = 1L;
  private final List<String> problems;

  public SpecException(String source, List<String> problems) {
    super(
        source + ": " + problems.size() + " problem" + (problems.size() == 1 ? "" : "s")
            + " in the feature spec:\n  - " + String.join("\n  - ", problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }
}
