package dev.vigil.jobs;

import java.util.List;

/**
 * The scoring job's configuration is not usable. Every problem is listed at once, each naming the
 * key, the bad value and what is allowed; secrets are never part of a message.
 */
public final class ConfigException extends Exception {
  private static final long serialVersionUID = 1L;
  private final List<String> problems;

  public ConfigException(List<String> problems) {
    super(format(problems));
    this.problems = List.copyOf(problems);
  }

  public List<String> problems() {
    return problems;
  }

  private static String format(List<String> problems) {
    StringBuilder s = new StringBuilder("scoring job: ")
        .append(problems.size())
        .append(problems.size() == 1 ? " problem" : " problems")
        .append(" in the configuration:");
    for (String p : problems) {
      s.append("\n  - ").append(p);
    }
    return s.toString();
  }
}
