package dev.vigil.cli;

import java.util.List;

/** The commands of {@code vigil}, in the order {@code --help} lists them. */
final class Commands {
  private Commands() {}

  static List<Object> all() {
    return List.of();
  }
}
