package dev.vigil.models;

import java.nio.file.Path;

/**
 * A model could not be loaded. The message says which file, what is wrong with it and how to fix
 * it; it is meant to be shown to the person who deployed the model as it is.
 */
public class ModelException extends Exception {
  private static final long serialVersionUID = 1L;

  private final Path file;

  public ModelException(Path file, String message) {
    super(prefix(file) + message);
    this.file = file;
  }

  public ModelException(Path file, String message, Throwable cause) {
    super(prefix(file) + message, cause);
    this.file = file;
  }

  /** The model file the failure is about ({@code null} when no file is involved). */
  public Path file() {
    return file;
  }

  private static String prefix(Path file) {
    return file == null ? "" : "Model " + file + ": ";
  }
}
