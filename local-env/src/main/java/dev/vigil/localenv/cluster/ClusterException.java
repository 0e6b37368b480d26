package dev.vigil.localenv.cluster;

/** A cluster that would not start or stop, or a REST call it refused: the message says what, where and how to fix it. */
public final class ClusterException extends RuntimeException {
  public ClusterException(String message) {
    super(message);
  }

  public ClusterException(String message, Throwable cause) {
    super(message, cause);
  }
}
