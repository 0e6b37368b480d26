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
 * @param tls the truststore (and client keystore) of an {@code https} registry; null: the JDK's
 *     default trust store, no client certificate
 */
public record RegistryConfig(
    String baseUrl,
    Duration connectTimeout,
    Duration requestTimeout,
    int maxAttempts,
    Duration initialBackoff,
    Duration maxBackoff,
    Credentials credentials,
    Tls tls)
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
        Credentials.none(),
        null);
  }

  public RegistryConfig withCredentials(Credentials credentials) {
    return new RegistryConfig(
        baseUrl, connectTimeout, requestTimeout, maxAttempts, initialBackoff, maxBackoff,
        credentials, tls);
  }

  public RegistryConfig withRetries(int maxAttempts, Duration initialBackoff, Duration maxBackoff) {
    return new RegistryConfig(
        baseUrl, connectTimeout, requestTimeout, maxAttempts, initialBackoff, maxBackoff,
        credentials, tls);
  }

  public RegistryConfig withTimeouts(Duration connectTimeout, Duration requestTimeout) {
    return new RegistryConfig(
        baseUrl, connectTimeout, requestTimeout, maxAttempts, initialBackoff, maxBackoff,
        credentials, tls);
  }

  /** A copy with {@code tls} (null: the JDK's default trust store). */
  public RegistryConfig withTls(Tls tls) {
    return new RegistryConfig(
        baseUrl, connectTimeout, requestTimeout, maxAttempts, initialBackoff, maxBackoff,
        credentials, tls);
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
        + (tls == null ? "" : ", tls=" + tls)
        + "]";
  }

  /** Registry credentials. Secrets are kept out of {@code toString()}. */
  public sealed interface Credentials extends java.io.Serializable {
    /**
     * The value of the HTTP {@code Authorization} header, or null for none; reads a referenced
     * secret now (the client calls it once, when it is created).
     */
    String authorizationHeader();

    static Credentials none() {
      return None.INSTANCE;
    }

    /** Basic auth with a password already in hand (kept out of toString). */
    static Credentials basic(String user, String password) {
      return new Basic(user, Secret.literal(password));
    }

    /** Basic auth with the password read when the client is created. */
    static Credentials basic(String user, Secret password) {
      return new Basic(user, password);
    }

    static Credentials bearer(String token) {
      return new Bearer(Secret.literal(token));
    }

    /** A bearer token read when the client is created. */
    static Credentials bearer(Secret token) {
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
    record Basic(String user, Secret password) implements Credentials {
      public Basic {
        Objects.requireNonNull(user, "user");
        Objects.requireNonNull(password, "password");
      }

      @Override
      public String authorizationHeader() {
        String pair = user + ":" + password.resolve();
        return "Basic "
            + java.util.Base64.getEncoder()
                .encodeToString(pair.getBytes(java.nio.charset.StandardCharsets.UTF_8));
      }

      @Override
      public String toString() {
        return "basic(user=" + user + ", password=" + password + ")";
      }
    }

    /** A bearer token (OAuth). */
    record Bearer(Secret token) implements Credentials {
      public Bearer {
        Objects.requireNonNull(token, "token");
      }

      @Override
      public String authorizationHeader() {
        return "Bearer " + token.resolve();
      }

      @Override
      public String toString() {
        return "bearer(" + token + ")";
      }
    }
  }

  /**
   * TLS to an {@code https} registry: a truststore (PKCS12 or JKS, detected) holding the
   * registry's certificate or its CA, and optionally a client keystore (mutual TLS). Paths are
   * read, and passwords resolved, when the client is created.
   *
   * @param truststore the truststore file, or null for the JDK's default trust store
   * @param truststorePassword its password, or null for none
   * @param keystore the client keystore (certificate and private key), or null for none
   * @param keystorePassword its password (also the key's), required with a keystore
   */
  public record Tls(
      String truststore, Secret truststorePassword, String keystore, Secret keystorePassword)
      implements java.io.Serializable {
    public Tls {
      if (truststore == null && keystore == null) {
        throw new IllegalArgumentException("TLS settings need a truststore or a keystore");
      }
      if (keystore != null && keystorePassword == null) {
        throw new IllegalArgumentException("a client keystore needs its password");
      }
    }

    /** The SSL context of these stores, read now. */
    public javax.net.ssl.SSLContext sslContext() {
      try {
        javax.net.ssl.TrustManager[] trust = null;
        if (truststore != null) {
          java.security.KeyStore ts = load(truststore, truststorePassword, "truststore");
          javax.net.ssl.TrustManagerFactory tmf = javax.net.ssl.TrustManagerFactory.getInstance(
              javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
          tmf.init(ts);
          trust = tmf.getTrustManagers();
        }
        javax.net.ssl.KeyManager[] keys = null;
        if (keystore != null) {
          java.security.KeyStore ks = load(keystore, keystorePassword, "keystore");
          javax.net.ssl.KeyManagerFactory kmf = javax.net.ssl.KeyManagerFactory.getInstance(
              javax.net.ssl.KeyManagerFactory.getDefaultAlgorithm());
          kmf.init(ks, keystorePassword.resolve().toCharArray());
          keys = kmf.getKeyManagers();
        }
        javax.net.ssl.SSLContext context = javax.net.ssl.SSLContext.getInstance("TLS");
        context.init(keys, trust, null);
        return context;
      } catch (java.security.GeneralSecurityException e) {
        throw new IllegalArgumentException(
            "cannot set up TLS to the schema registry: " + e.getMessage(), e);
      }
    }

    private static java.security.KeyStore load(String file, Secret password, String what) {
      char[] chars = password == null ? null : password.resolve().toCharArray();
      try {
        return java.security.KeyStore.getInstance(new java.io.File(file), chars);
      } catch (java.io.IOException | java.security.GeneralSecurityException e) {
        // the message of a wrong password is "keystore password was incorrect": no secret in it
        throw new IllegalArgumentException(
            "cannot read the registry " + what + " " + file + ": " + e.getMessage(), e);
      }
    }

    @Override
    public String toString() {
      return "tls(truststore=" + truststore + (keystore == null ? "" : ", keystore=" + keystore)
          + ")";
    }
  }
}
