package dev.vigil.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.avro.Schema;
import org.apache.avro.SchemaParseException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A client for the Confluent Schema Registry REST API, as spoken by Confluent Schema Registry,
 * Apicurio Registry ({@code /apis/ccompat/v7}), Karapace and Redpanda.
 *
 * <p>Ids are immutable in every one of them, so schemas by id and ids by (subject, schema) are
 * cached for the life of the client: a job keeps decoding known ids while the registry is down.
 * Connection errors and 5xx answers are retried with exponential backoff and jitter; 4xx answers
 * are not (they will not change by asking again). Thread-safe.
 */
public final class SchemaRegistryClient implements SchemaLookup, AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(SchemaRegistryClient.class);
  private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One registered version of a subject. */
  public record SchemaVersion(String subject, int version, int id, Schema schema) {}

  /** The registry's answer to "is this schema compatible with the subject's latest version?". */
  public record CompatibilityResult(boolean compatible, List<String> messages) {}

  private final RegistryConfig config;
  private final HttpClient http;
  /** Resolved once, here: the client is created where it is used (an operator's open). */
  private final String authorization;
  private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
  private final Map<String, Integer> idsBySubjectAndSchema = new ConcurrentHashMap<>();

  public SchemaRegistryClient(RegistryConfig config) {
    this.config = config;
    this.authorization = config.credentials().authorizationHeader();
    // With credentials, no redirect is followed: Java's client would send the Authorization
    // header on to wherever the registry (or whatever answers at its address) points.
    HttpClient.Builder builder =
        HttpClient.newBuilder()
            .connectTimeout(config.connectTimeout())
            .followRedirects(authorization == null ? HttpClient.Redirect.NORMAL
                : HttpClient.Redirect.NEVER);
    if (config.tls() != null) {
      builder.sslContext(config.tls().sslContext());
    }
    this.http = builder.build();
  }

  public static SchemaRegistryClient of(String baseUrl) {
    return new SchemaRegistryClient(RegistryConfig.of(baseUrl));
  }

  public RegistryConfig config() {
    return config;
  }

  /** Registers {@code schema} under {@code subject} (idempotent), returning its global id. */
  @Override
  public int register(String subject, Schema schema) {
    String key = subject + '\u0000' + schema.toString();
    Integer cached = idsBySubjectAndSchema.get(key);
    if (cached != null) {
      return cached;
    }
    JsonNode answer =
        call("POST", "/subjects/" + enc(subject) + "/versions", schemaBody(schema), subject);
    int id = requireInt(answer, "id", "register under subject '" + subject + "'");
    idsBySubjectAndSchema.put(key, id);
    schemasById.putIfAbsent(id, schema);
    return id;
  }

  /** The version of {@code schema} under {@code subject}; {@code NOT_FOUND} if not registered. */
  public SchemaVersion lookup(String subject, Schema schema) {
    JsonNode answer = call("POST", "/subjects/" + enc(subject), schemaBody(schema), subject);
    return version(subject, answer);
  }

  /** The schema with global id {@code id} (cached: ids are immutable). */
  @Override
  public Schema schemaById(int id) {
    Schema cached = schemasById.get(id);
    if (cached != null) {
      return cached;
    }
    JsonNode answer = call("GET", "/schemas/ids/" + id, null, "schema id " + id);
    Schema schema = parse(requireText(answer, "schema", "schema id " + id), "schema id " + id);
    schemasById.putIfAbsent(id, schema);
    return schema;
  }

  /** The latest version of {@code subject}. */
  public SchemaVersion latest(String subject) {
    return version(subject, "latest");
  }

  /** Version {@code version} ("latest" or a number) of {@code subject}. */
  public SchemaVersion version(String subject, String version) {
    JsonNode answer =
        call("GET", "/subjects/" + enc(subject) + "/versions/" + enc(version), null, subject);
    return version(subject, answer);
  }

  /** Every version of {@code subject}, oldest first; empty if the subject does not exist. */
  public List<SchemaVersion> allVersions(String subject) {
    JsonNode numbers;
    try {
      numbers = call("GET", "/subjects/" + enc(subject) + "/versions", null, subject);
    } catch (RegistryException e) {
      if (e.kind() == RegistryException.Kind.NOT_FOUND) {
        return List.of();
      }
      throw e;
    }
    if (!numbers.isArray()) {
      throw protocol("versions of subject '" + subject + "'", "expected a JSON array", numbers);
    }
    List<Integer> sorted = new ArrayList<>();
    numbers.forEach(n -> sorted.add(n.asInt()));
    sorted.sort(Integer::compare);
    List<SchemaVersion> versions = new ArrayList<>(sorted.size());
    for (int v : sorted) {
      versions.add(version(subject, Integer.toString(v)));
    }
    return versions;
  }

  /** The subject names. */
  public List<String> subjects() {
    JsonNode answer = call("GET", "/subjects", null, "subjects");
    List<String> names = new ArrayList<>();
    answer.forEach(n -> names.add(n.asText()));
    return names;
  }

  /**
   * The compatibility level that applies to {@code subject}: its own, or the global one when it
   * has none. Asked with {@code defaultToGlobal=true}: without it Confluent answers 404 and
   * Apicurio answers NONE for a subject without its own level (Apicurio 3.0.9, checked).
   */
  public String compatibility(String subject) {
    try {
      JsonNode answer =
          call("GET", "/config/" + enc(subject) + "?defaultToGlobal=true", null, subject);
      String level = levelOf(answer);
      if (level != null) {
        return level;
      }
    } catch (RegistryException e) {
      if (e.kind() != RegistryException.Kind.NOT_FOUND) {
        throw e;
      }
    }
    return globalCompatibility();
  }

  /** The registry's global compatibility level. */
  public String globalCompatibility() {
    JsonNode answer = call("GET", "/config", null, "global config");
    String level = levelOf(answer);
    if (level == null) {
      throw protocol("global config", "no compatibilityLevel in the answer", answer);
    }
    return level;
  }

  /** Sets {@code subject}'s own compatibility level. */
  public void setCompatibility(String subject, String level) {
    call("PUT", "/config/" + enc(subject), levelBody(level), subject);
  }

  /** Sets the registry's global compatibility level. */
  public void setGlobalCompatibility(String level) {
    call("PUT", "/config", levelBody(level), "global config");
  }

  /**
   * Asks the registry whether {@code schema} is compatible with the latest version of {@code
   * subject} under the subject's level; the messages are the registry's reasons (verbose mode).
   * A subject with no versions is compatible.
   */
  public CompatibilityResult testCompatibility(String subject, Schema schema) {
    JsonNode answer;
    try {
      answer =
          call(
              "POST",
              "/compatibility/subjects/" + enc(subject) + "/versions/latest?verbose=true",
              schemaBody(schema),
              subject);
    } catch (RegistryException e) {
      if (e.kind() == RegistryException.Kind.NOT_FOUND && e.errorCode() == 40401) {
        return new CompatibilityResult(true, List.of());
      }
      throw e;
    }
    JsonNode flag = answer.get("is_compatible");
    if (flag == null || !flag.isBoolean()) {
      throw protocol("compatibility test for '" + subject + "'", "no is_compatible flag", answer);
    }
    List<String> messages = new ArrayList<>();
    JsonNode m = answer.get("messages");
    if (m != null && m.isArray()) {
      m.forEach(n -> messages.add(n.asText()));
    }
    return new CompatibilityResult(flag.asBoolean(), List.copyOf(messages));
  }

  /** Deletes {@code subject} (soft delete), returning the deleted version numbers. */
  public List<Integer> deleteSubject(String subject) {
    JsonNode answer = call("DELETE", "/subjects/" + enc(subject), null, subject);
    List<Integer> versions = new ArrayList<>();
    answer.forEach(n -> versions.add(n.asInt()));
    return versions;
  }

  @Override
  public void close() {
    // HttpClient in Java 17 has no close(); its threads are daemons and die with the JVM.
  }

  // ---------------------------------------------------------------------------------------------

  private SchemaVersion version(String subject, JsonNode answer) {
    String what = "subject '" + subject + "'";
    int version = requireInt(answer, "version", what);
    int id = requireInt(answer, "id", what);
    Schema schema = schemasById.get(id);
    if (schema == null) {
      schema = parse(requireText(answer, "schema", what), what + " version " + version);
      schemasById.putIfAbsent(id, schema);
    }
    return new SchemaVersion(subject, version, id, schema);
  }

  private static String levelOf(JsonNode answer) {
    for (String field : new String[] {"compatibilityLevel", "compatibility"}) {
      JsonNode n = answer.get(field);
      if (n != null && n.isTextual()) {
        return n.asText().toUpperCase(Locale.ROOT);
      }
    }
    return null;
  }

  private static String schemaBody(Schema schema) {
    ObjectNode body = JSON.createObjectNode();
    body.put("schema", schema.toString());
    return body.toString();
  }

  private static String levelBody(String level) {
    ObjectNode body = JSON.createObjectNode();
    body.put("compatibility", level.toUpperCase(Locale.ROOT));
    return body.toString();
  }

  private static String enc(String pathSegment) {
    return URLEncoder.encode(pathSegment, StandardCharsets.UTF_8).replace("+", "%20");
  }

  private Schema parse(String text, String what) {
    try {
      return new Schema.Parser().parse(text);
    } catch (SchemaParseException e) {
      throw new RegistryException(
          RegistryException.Kind.PROTOCOL,
          200,
          0,
          "registry at " + config.baseUrl() + " returned an unparseable Avro schema for " + what
              + ": " + e.getMessage(),
          e);
    }
  }

  private int requireInt(JsonNode answer, String field, String what) {
    JsonNode n = answer.get(field);
    if (n == null || !n.canConvertToInt()) {
      throw protocol(what, "no integer '" + field + "' in the answer", answer);
    }
    return n.asInt();
  }

  private String requireText(JsonNode answer, String field, String what) {
    JsonNode n = answer.get(field);
    if (n == null || !n.isTextual()) {
      throw protocol(what, "no '" + field + "' text in the answer", answer);
    }
    return n.asText();
  }

  private RegistryException protocol(String what, String problem, JsonNode answer) {
    String shown = String.valueOf(answer);
    if (shown.length() > 300) {
      shown = shown.substring(0, 300) + "…";
    }
    return new RegistryException(
        RegistryException.Kind.PROTOCOL,
        200,
        0,
        "unexpected answer from registry at " + config.baseUrl() + " for " + what + ": " + problem
            + " (got " + shown + "); is the URL the registry's Confluent-compatible API root?");
  }

  /** One HTTP call with retries on connection errors and 5xx; the parsed JSON answer. */
  private JsonNode call(String method, String path, String body, String about) {
    URI uri = URI.create(config.baseUrl() + path);
    HttpRequest.Builder request =
        HttpRequest.newBuilder(uri)
            .timeout(config.requestTimeout())
            .header("Accept", CONTENT_TYPE + ", application/json")
            .method(
                method,
                body == null
                    ? HttpRequest.BodyPublishers.noBody()
                    : HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (body != null) {
      request.header("Content-Type", CONTENT_TYPE);
    }
    if (authorization != null) {
      request.header("Authorization", authorization);
    }
    long started = System.nanoTime();
    Duration backoff = config.initialBackoff();
    String lastProblem = "no attempt made";
    Throwable lastCause = null;
    int lastStatus = 0;
    for (int attempt = 1; attempt <= config.maxAttempts(); attempt++) {
      try {
        HttpResponse<String> response =
            http.send(request.build(), HttpResponse.BodyHandlers.ofString(StandardCharsets.UTF_8));
        int status = response.statusCode();
        if (status >= 200 && status < 300) {
          return readJson(response.body(), method, path);
        }
        if (status >= 300 && status < 400) {
          String location = response.headers().firstValue("Location").orElse("(no Location)");
          throw new RegistryException(RegistryException.Kind.PROTOCOL, status, 0,
              "registry at " + config.baseUrl() + " answered " + method + " " + path + " with HTTP "
                  + status + ", a redirect to " + location + ": with credentials a redirect is not"
                  + " followed (they would go on to that location); set registry.url to the"
                  + " registry's own address", null);
        }
        if (status >= 500) {
          lastStatus = status;
          lastProblem = "HTTP " + status + describeError(response.body());
          lastCause = null;
        } else {
          throw clientError(status, response.body(), method, path, about);
        }
      } catch (ConnectException e) {
        lastProblem = "connection refused";
        lastCause = e;
      } catch (javax.net.ssl.SSLException e) {
        // not transient: asking again meets the same certificate
        throw new RegistryException(
            RegistryException.Kind.UNAVAILABLE, 0, 0,
            "TLS with schema registry at " + config.baseUrl() + " failed: " + e.getMessage()
                + "; check registry.ssl.truststore.location (it must hold the registry's"
                + " certificate or its CA) and, for mutual TLS, registry.ssl.keystore.location",
            e);
      } catch (HttpTimeoutException e) {
        lastProblem = "timed out after " + config.requestTimeout().toMillis() + " ms";
        lastCause = e;
      } catch (IOException e) {
        lastProblem = e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage());
        lastCause = e;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new RegistryException(
            RegistryException.Kind.UNAVAILABLE, 0, 0,
            "interrupted while calling registry at " + config.baseUrl(), e);
      }
      if (attempt < config.maxAttempts()) {
        long jittered =
            (long) (backoff.toMillis() * (0.5 + ThreadLocalRandom.current().nextDouble()));
        LOG.debug("registry {} {} failed ({}); retrying in {} ms", method, path, lastProblem, jittered);
        sleep(jittered);
        backoff = backoff.multipliedBy(2);
        if (backoff.compareTo(config.maxBackoff()) > 0) {
          backoff = config.maxBackoff();
        }
      }
    }
    double seconds = (System.nanoTime() - started) / 1e9;
    String message =
        lastStatus >= 500
            ? String.format(
                Locale.ROOT,
                "schema registry at %s failed for %s: %s (after %d attempts, %.1f s)",
                config.baseUrl(), about, lastProblem, config.maxAttempts(), seconds)
            : String.format(
                Locale.ROOT,
                "cannot reach schema registry at %s: %s (after %d attempts, %.1f s); check the"
                    + " registry URL and that the registry is running%s",
                config.baseUrl(), lastProblem, config.maxAttempts(), seconds,
                config.baseUrl().startsWith("https:") && lastCause != null
                        && !(lastCause instanceof ConnectException)
                    ? "; over https also the TLS keys registry.ssl.*: with TLS 1.3 a registry"
                        + " that requires a client certificate closes the connection without"
                        + " one (registry.ssl.keystore.location)"
                    : "");
    throw new RegistryException(RegistryException.Kind.UNAVAILABLE, lastStatus, 0, message, lastCause);
  }

  private JsonNode readJson(String body, String method, String path) {
    try {
      return JSON.readTree(body == null || body.isEmpty() ? "{}" : body);
    } catch (IOException e) {
      String shown = body.length() > 200 ? body.substring(0, 200) + "…" : body;
      throw new RegistryException(
          RegistryException.Kind.PROTOCOL, 200, 0,
          "registry at " + config.baseUrl() + " answered " + method + " " + path
              + " with something that is not JSON: '" + shown
              + "'; is the URL the registry's Confluent-compatible API root?",
          e);
    }
  }

  private RegistryException clientError(
      int status, String body, String method, String path, String about) {
    int errorCode = 0;
    String registryMessage = null;
    try {
      JsonNode n = JSON.readTree(body);
      if (n != null && n.has("error_code")) {
        errorCode = n.get("error_code").asInt();
      }
      if (n != null && n.has("message")) {
        registryMessage = n.get("message").asText();
      }
    } catch (IOException | RuntimeException ignored) {
      // not the Confluent error shape: keep the raw body below
    }
    if (registryMessage == null) {
      registryMessage = body == null || body.isBlank() ? "(no message)" : truncate(body);
    }
    String where = "registry at " + config.baseUrl();
    RegistryException.Kind kind;
    String what;
    switch (status) {
      case 404 -> {
        kind = RegistryException.Kind.NOT_FOUND;
        what = where + ": " + about + " not found";
      }
      case 409 -> {
        kind = RegistryException.Kind.INCOMPATIBLE;
        what = where + " rejected the schema for " + quoteSubject(about)
            + ": incompatible with an earlier version";
      }
      case 422 -> {
        kind = RegistryException.Kind.INVALID_SCHEMA;
        what = where + " refused the request for " + quoteSubject(about) + " as invalid";
      }
      case 401, 403 -> {
        kind = RegistryException.Kind.UNAUTHORIZED;
        what = where + " denied access (HTTP " + status + "); check the registry credentials";
      }
      default -> {
        kind = RegistryException.Kind.PROTOCOL;
        what = where + " answered " + method + " " + path + " with HTTP " + status;
      }
    }
    return new RegistryException(
        kind, status, errorCode,
        what + " (HTTP " + status + (errorCode != 0 ? ", error_code " + errorCode : "") + "): "
            + registryMessage);
  }

  private static String quoteSubject(String about) {
    return about.contains(" ") ? about : "subject '" + about + "'";
  }

  private static String describeError(String body) {
    return body == null || body.isBlank() ? "" : ": " + truncate(body);
  }

  private static String truncate(String s) {
    String oneLine = s.replaceAll("\\s+", " ").strip();
    return oneLine.length() > 500 ? oneLine.substring(0, 500) + "…" : oneLine;
  }

  private static void sleep(long millis) {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RegistryException(RegistryException.Kind.UNAVAILABLE, 0, 0, "interrupted", e);
    }
  }
}
