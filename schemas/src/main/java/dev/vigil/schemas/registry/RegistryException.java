package dev.vigil.schemas.registry;

/**
 * A schema registry call failed. {@link #kind()} says how, the message says what and why in words
 * a person can act on (the registry's own reasons included).
 */
public final class RegistryException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /** The ways a registry call fails. */
  public enum Kind {
    /** 404: no such subject, version or schema id. */
    NOT_FOUND,
    /** 409: the schema is incompatible with the subject's earlier versions. */
    INCOMPATIBLE,
    /** 422: the registry refused the schema (invalid schema, bad level, bad version). */
    INVALID_SCHEMA,
    /** 401 or 403: credentials missing, wrong, or lacking the permission. */
    UNAUTHORIZED,
    /** Connection refused, timed out, or 5xx — after all retries. Not a data problem. */
    UNAVAILABLE,
    /** An answer that is not the Confluent API (wrong URL path, a proxy's page, bad JSON). */
    PROTOCOL
  }

  private final Kind kind;
  private final int httpStatus;
  private final int errorCode;

  public RegistryException(Kind kind, int httpStatus, int errorCode, String message) {
    this(kind, httpStatus, errorCode, message, null);
  }

  public RegistryException(
      Kind kind, int httpStatus, int errorCode, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.httpStatus = httpStatus;
    this.errorCode = errorCode;
  }

  public Kind kind() {
    return kind;
  }

  /** The HTTP status, or 0 when there was no HTTP answer. */
  public int httpStatus() {
    return httpStatus;
  }

  /** The registry's {@code error_code} (e.g. 40401 subject not found), or 0 if none. */
  public int errorCode() {
    return errorCode;
  }
}
