package dev.vigil.statetools;

/**
 * A problem the user can fix (bad arguments, input, or a savepoint that does not fit): the message
 * says what, where and what to do. The commands print it and exit 2.
 */
public final class StateToolException extends Exception {
  private static final long serialVersionUID = 1L;

  public StateToolException(String message) {
    super(message);
  }

  public StateToolException(String message, Throwable cause) {
    super(message, cause);
  }
}
