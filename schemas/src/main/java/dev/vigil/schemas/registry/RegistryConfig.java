package dev.vigil.schemas.registry;

import java.net.URI;
import java.time.Duration;
import java.util.Objects;

/**
 * How to reach a Confluent-API schema registry: base URL, timeouts, retries and credentials.
 *
 * <p>The base URL is the API root: {@code http://host:8081} for Confluent, Karapace and Redpanda,
 * {@code http://host:8080/apis/ccompat/v7} for Apicurio. {@link #toString()} never shows secrets.
 *
 * @param baseUrl the API root, without a trailing slash
 * @param connectTimeout TCP connect timeout per attempt
 * @param requestTimeout whole-request timeout per attempt
 * @param maxAttempts attempts for a request that fails to connect or gets a 5xx (≥ 1)
 * @param initialBackoff wait before the second attempt; doubles each time, with jitter
 * @param maxBackoff cap on one wait
 * @param credentials basic or bearer credentials, or {@link Credentials#none()}
 */
public record RegistryConfig(
    String baseUrl,
    Duration connectTimeout,
    Duration requestTimeout,
    int maxAttempts,
    Duration initialBackoff,
    Duration maxBackoff,
    Credentials credentials)
    implements java.io.Serializable {

  public RegistryConfig {
    Objects.requireNonNull(baseUrl, "baseUrl");
    String trimmed = baseUrl.strip();
    while (trimmed.endsWith("/")) {
      trimmed = trimmed.substring(0, trimmed.length() - 1);
    }
    URI uri;
    try {
      uri = URI.create(trimmed);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "schema registry URL '" + baseUrl + "' is not a valid URL: " + e.getMessage());
    }
    if (uri.getScheme() == null
        || !(uri.getScheme().equals("http") || uri.getScheme().equals("https"))
        || uri.getHost() == null) {
      throw new IllegalArgumentException(
          "schema registry URL '"
              + baseUrl
              + "' must be http(s)://host[:port][/path], e.g. http://127.0.0.1:8081");
    }
    baseUrl = trimmed;
    Objects.requireNonNull(connectTimeout, "connectTimeout");
    Objects.requireNonNull(requestTimeout, "requestTimeout");
    Objects.requireNonNull(initialBackoff, "initialBackoff");
    Objects.requireNonNull(maxBackoff, "maxBackoff");
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1, was " + maxAttempts);
    }
    credentials = credentials == null ? Credentials.none() : credentials;
  }

  /** Defaults: 5 s connect, 10 s request, 3 attempts, 200 ms first backoff, 5 s cap, no auth. */
  public static RegistryConfig of(String baseUrl) {
    return new RegistryConfig(
        baseUrl,
        Duration.ofSeconds(5),
        Duration.ofSeconds(10),
        3,
        Duration.ofMillis(200),
        Duration.ofSeconds(5),
        Credentials.none());
  }

  public RegistryConfig withCredentials(Credentials credentials) {
    return new RegistryConfig(
        baseUrl, connectTimeout, requestTimeout, maxAttempts, initialBackoff, maxBackoff,
        credentials);
  }

  public RegistryConfig withRetries(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
    return new RegistryConfig(
        baseUrl, connectTimeout, requestTimeout, maxAttempts, initialBackoff, maxBackoff,
        credentials);
  }

  public RegistryConfig withTimeouts(Duration connectTimeout, Duration requestTimeout) {
    return new RegistryConfig(
        baseUrl, connectTimeout, requestTimeout, maxAttempts, initialBackoff, maxBackoff,
        credentials);
  }

  @Override
  public String toString() {
    return "RegistryConfig[baseUrl="
        + baseUrl
        + ", connectTimeout="
        + connectTimeout
        + ", requestTimeout="
        + requestTimeout
        + ", maxAttempts="
        + maxAttempts
        + ", credentials="
        + credentials
        + "]";
  }

  /** Registry credentials. Secrets are kept out of {@code toString()}. */
  public sealed interface Credentials extends java.io.Serializable {
    /** The value of the HTTP {@code Authorization} header, or null for none. */
    String authorizationHeader();

    static Credentials none() {
      return None.INSTANCE;
    }

    static Credentials basic(String user, String password) {
      return new Basic(user, password);
    }

    static Credentials bearer(String token) {
      return new Bearer(token);
    }

    /** No authentication. */
    enum None implements Credentials {
      INSTANCE;

      @Override
      public String authorizationHeader() {
        return null;
      }

      @Override
      public String toString() {
        return "none";
      }
    }

    /** HTTP basic authentication (Confluent Cloud API keys, Karapace, Redpanda). */
    record Basic(String user, String password) implements Credentials {
      public Basic {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
      }

      @Override
      public String authorizationHeader() {
        String pair = user + ":" + password;
        return "Basic "
            + java.util.Base64.getEncoder()
                .encodeToString(pair.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }

      @Override
      public String toString() {
        return "basic(user=" + user + ", password=***)";
      }
    }

    /** A bearer token (OAuth). */
    record Bearer(String token) implements Credentials {
      public Bearer {
        Objects.requireNonNull(token, "token");
      }

      @Override
      public String authorizationHeader() {
        return "Bearer " + token;
      }

      @Override
      public String toString() {
        return "bearer(***)";
      }
    }
  }
}
