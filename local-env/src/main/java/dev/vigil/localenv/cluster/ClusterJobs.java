package dev.vigil.localenv.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * The job side of a Flink cluster's REST API (any Flink 2.x session cluster, not only {@link
 * StandaloneCluster}): upload a jar, run it, read a job's status, stop it with a savepoint,
 * cancel it. java.net.http and Jackson, no Flink client classes, so what it sends is exactly what
 * docs/cluster.md shows with curl.
 *
 * <p>When the cluster answers with an error, the {@link ClusterException} names the call, the URL,
 * the HTTP status, Flink's own error text and what to check.
 */
public final class ClusterJobs {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final String restUrl;
  private final HttpClient http = HttpClient.newBuilder()
      .connectTimeout(Duration.ofSeconds(10)).build();

  public ClusterJobs(String restUrl) {
    this.restUrl = restUrl.endsWith("/") ? restUrl.substring(0, restUrl.length() - 1) : restUrl;
  }

  /** How to run an uploaded jar ({@code POST /jars/:jarid/run}). */
  public record Run(String entryClass, List<String> programArgs, Integer parallelism,
      String savepointPath, boolean allowNonRestoredState) {
    public Run {
      programArgs = List.copyOf(programArgs);
    }

    public static Run of(String entryClass, List<String> args, int parallelism) {
      return new Run(entryClass, args, parallelism, null, false);
    }

    public Run fromSavepoint(String path, boolean allowNonRestored) {
      return new Run(entryClass, programArgs, parallelism, path, allowNonRestored);
    }
  }

  /** {@code POST /jars/upload} (multipart, field {@code jarfile}); returns the jar id. */
  public String uploadJar(Path jar) {
    if (!Files.isRegularFile(jar)) {
      throw new ClusterException("cannot upload " + jar + ": no such file (the job jar is built"
          + " by `./mvnw -B -q -pl jobs -am package -DskipTests`)");
    }
    String boundary = "vigil-" + UUID.randomUUID();
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    try {
      body.write(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"jarfile\";"
          + " filename=\"" + jar.getFileName() + "\"\r\nContent-Type: application/x-java-archive"
          + "\r\n\r\n").getBytes(StandardCharsets.UTF_8));
      body.write(Files.readAllBytes(jar));
      body.write(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new ClusterException("cannot read " + jar + ": " + e, e);
    }
    HttpRequest request = HttpRequest.newBuilder(uri("/jars/upload"))
        .timeout(Duration.ofMinutes(2))
        .header("Content-Type", "multipart/form-data; boundary=" + boundary)
        .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build();
    JsonNode r = call(request, "upload " + jar.getFileName(),
        "check that the file is a jar and that the JobManager can write its web.upload.dir");
    String file = r.path("filename").asText();
    if (!"success".equals(r.path("status").asText()) || file.isEmpty()) {
      throw new ClusterException("POST " + uri("/jars/upload") + " answered " + r
          + " instead of a stored jar");
    }
    return Path.of(file).getFileName().toString();
  }

  /** {@code POST /jars/:jarid/run}: runs the jar's main on the JobManager; returns the job id. */
  public String run(String jarId, Run run) {
    ObjectNode body = JSON.createObjectNode();
    body.put("entryClass", run.entryClass());
    body.putPOJO("programArgsList", run.programArgs());
    if (run.parallelism() != null) {
      body.put("parallelism", run.parallelism());
    }
    if (run.savepointPath() != null) {
      body.put("savepointPath", run.savepointPath());
      body.put("allowNonRestoredState", run.allowNonRestoredState());
    }
    JsonNode r = call(post("/jars/" + jarId + "/run", body, Duration.ofMinutes(2)),
        "run " + run.entryClass() + " of jar " + jarId,
        "the job's main() failed or the graph could not be submitted: read Flink's text above"
            + " (a bad argument names the key, docs/scoring-job.md lists them; a savepoint that"
            + " does not match names the operator); the JobManager's log has the stack trace");
    String job = r.path("jobid").asText();
    if (job.isEmpty()) {
      throw new ClusterException("POST " + uri("/jars/" + jarId + "/run") + " answered " + r
          + " without a job id");
    }
    return job;
  }

  /** {@code GET /jobs/:jobid}: the job's state (RUNNING, FINISHED, FAILED, …). */
  public String status(String jobId) {
    return details(jobId).path("state").asText();
  }

  /** {@code GET /jobs/:jobid}: the whole answer (state, vertices with their task states, …). */
  public JsonNode details(String jobId) {
    return call(get("/jobs/" + jobId), "read job " + jobId,
        "is it a job of this cluster? `GET /jobs/overview` lists them");
  }

  /** Whether the job is RUNNING with every task of every vertex RUNNING (checkpoints can start). */
  public boolean allTasksRunning(String jobId) {
    JsonNode d = details(jobId);
    if (!"RUNNING".equals(d.path("state").asText())) {
      return false;
    }
    for (JsonNode v : d.path("vertices")) {
      JsonNode tasks = v.path("tasks");
      int running = tasks.path("RUNNING").asInt();
      if (running != v.path("parallelism").asInt()) {
        return false;
      }
    }
    return true;
  }

  /**
   * Waits until every task of the job runs; fails at once, with the job's root exception, when the
   * job reaches a terminal state instead.
   */
  public void awaitAllTasksRunning(String jobId, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (allTasksRunning(jobId)) {
        return;
      }
      String s = status(jobId);
      if (isTerminal(s)) {
        throw new ClusterException("job " + jobId + " is " + s + " instead of running: "
            + rootException(jobId));
      }
      pause();
    }
    throw new ClusterException("job " + jobId + " did not have every task RUNNING within "
        + timeout.toSeconds() + " s (state " + status(jobId) + "; last failure: "
        + rootException(jobId) + ")");
  }

  /** Completed checkpoints of the job ({@code GET /jobs/:jobid/checkpoints}). */
  public long completedCheckpoints(String jobId) {
    return call(get("/jobs/" + jobId + "/checkpoints"), "read the checkpoints of job " + jobId,
        "is checkpointing enabled for the job?").path("counts").path("completed").asLong();
  }

  /**
   * How often the job's state was restored ({@code counts.restored} of {@code GET
   * /jobs/:jobid/checkpoints}): 1 after a start from a savepoint, one more after each recovery
   * from a checkpoint.
   */
  public long restoredCheckpoints(String jobId) {
    return call(get("/jobs/" + jobId + "/checkpoints"), "read the checkpoints of job " + jobId,
        "is checkpointing enabled for the job?").path("counts").path("restored").asLong();
  }

  /**
   * The job's user accumulators by name ({@code GET /jobs/:jobid/accumulators}, summed over its
   * tasks by Flink), as the strings the REST API gives.
   */
  public Map<String, String> accumulators(String jobId) {
    Map<String, String> out = new LinkedHashMap<>();
    call(get("/jobs/" + jobId + "/accumulators"), "read the accumulators of job " + jobId, "")
        .path("user-task-accumulators")
        .forEach(a -> out.put(a.path("name").asText(), a.path("value").asText()));
    return out;
  }

  /** The root exception of the job's last failure ({@code GET /jobs/:jobid/exceptions}), or "none". */
  public String rootException(String jobId) {
    try {
      JsonNode r = call(get("/jobs/" + jobId + "/exceptions"), "read the exceptions of " + jobId,
          "");
      JsonNode history = r.path("exceptionHistory").path("entries");
      if (history.isArray() && !history.isEmpty()) {
        String text = history.get(0).path("stacktrace").asText();
        return text.isEmpty() ? history.get(0).path("exceptionName").asText() : firstLines(text, 8);
      }
      return "none";
    } catch (ClusterException e) {
      return "(cannot be read: " + e.getMessage() + ")";
    }
  }

  /**
   * {@code POST /jobs/:jobid/stop} with {@code targetDirectory}, then polls {@code GET
   * /jobs/:jobid/savepoints/:triggerid} until the savepoint completes; returns its location. The
   * job ends FINISHED.
   */
  public String stopWithSavepoint(String jobId, String targetDirectory, Duration timeout) {
    ObjectNode body = JSON.createObjectNode();
    body.put("targetDirectory", targetDirectory);
    body.put("drain", false);
    JsonNode r = call(post("/jobs/" + jobId + "/stop", body, Duration.ofSeconds(30)),
        "stop job " + jobId + " with a savepoint", "is the job RUNNING? only a running job can"
            + " stop with a savepoint");
    String trigger = r.path("request-id").asText();
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      JsonNode s = call(get("/jobs/" + jobId + "/savepoints/" + trigger),
          "read savepoint " + trigger + " of job " + jobId, "");
      if ("COMPLETED".equals(s.path("status").path("id").asText())) {
        JsonNode op = s.path("operation");
        if (op.has("failure-cause")) {
          throw new ClusterException("the savepoint of job " + jobId + " into " + targetDirectory
              + " failed: " + firstLines(op.path("failure-cause").path("stack-trace").asText(), 12)
              + "; the job keeps running (check that the directory is writable and that every"
              + " task is RUNNING)");
        }
        return op.path("location").asText();
      }
      pause();
    }
    throw new ClusterException("the savepoint of job " + jobId + " did not complete within "
        + timeout.toSeconds() + " s (trigger " + trigger + ")");
  }

  /** {@code PATCH /jobs/:jobid?mode=cancel}. */
  public void cancel(String jobId) {
    call(HttpRequest.newBuilder(uri("/jobs/" + jobId + "?mode=cancel"))
            .timeout(Duration.ofSeconds(30))
            .method("PATCH", HttpRequest.BodyPublishers.noBody()).build(),
        "cancel job " + jobId, "is it a job of this cluster, still running?");
  }

  /** Waits until the job has reached a terminal state; returns it. */
  public String awaitTerminal(String jobId, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    String s = status(jobId);
    while (!isTerminal(s)) {
      if (System.nanoTime() > deadline) {
        throw new ClusterException("job " + jobId + " is still " + s + " after "
            + timeout.toSeconds() + " s");
      }
      pause();
      s = status(jobId);
    }
    return s;
  }

  /** Job ids and states ({@code GET /jobs/overview}). */
  public List<String[]> jobs() {
    List<String[]> out = new ArrayList<>();
    for (JsonNode j : call(get("/jobs/overview"), "list the jobs", "").path("jobs")) {
      out.add(new String[] {j.path("jid").asText(), j.path("name").asText(),
          j.path("state").asText()});
    }
    return out;
  }

  static boolean isTerminal(String state) {
    return switch (state) {
      case "FINISHED", "CANCELED", "FAILED", "SUSPENDED" -> true;
      default -> false;
    };
  }

  private URI uri(String path) {
    return URI.create(restUrl + path);
  }

  private HttpRequest get(String path) {
    return HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(30)).GET().build();
  }

  private HttpRequest post(String path, JsonNode body, Duration timeout) {
    return HttpRequest.newBuilder(uri(path)).timeout(timeout)
        .header("Content-Type", "application/json")
        .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build();
  }

  private JsonNode call(HttpRequest request, String what, String hint) {
    String where = request.method() + " " + request.uri();
    HttpResponse<String> r;
    try {
      r = http.send(request, HttpResponse.BodyHandlers.ofString());
    } catch (ConnectException e) {
      throw new ClusterException("cannot " + what + ": nothing answers at " + restUrl + " ("
          + where + "); is the cluster up? `vigil cluster status` shows it", e);
    } catch (IOException e) {
      throw new ClusterException("cannot " + what + ": " + where + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ClusterException("interrupted: " + where, e);
    }
    JsonNode body;
    try {
      body = r.body() == null || r.body().isBlank() ? JSON.createObjectNode() : JSON.readTree(r.body());
    } catch (IOException e) {
      body = JSON.createObjectNode().put("text", r.body());
    }
    if (r.statusCode() / 100 != 2) {
      List<String> errors = new ArrayList<>();
      body.path("errors").forEach(e -> errors.add(e.asText()));
      String flink = errors.isEmpty() ? r.body() : String.join("\n", errors);
      if (flink.contains("UserSystemExitException")) {
        hint = "the job's main() called System.exit (ScoringJob does on a bad configuration):"
            + " its message is on the JobManager's standard output (vigil cluster:"
            + " log/jobmanager.out in the work dir)";
      }
      throw new ClusterException("cannot " + what + ": " + where + " answered HTTP "
          + r.statusCode() + ". Flink says: " + causes(flink)
          + (hint.isEmpty() ? "" : "\nWhat to check: " + hint));
    }
    return body;
  }

  /**
   * A stack trace's message and its "Caused by" lines (where the real reason is), not its frames;
   * other text as it is, cut at 40 lines.
   */
  static String causes(String text) {
    List<String> lines = new ArrayList<>();
    String[] all = text.split("\n");
    lines.add(all[0]);
    for (String l : all) {
      if (l.startsWith("Caused by:")) {
        lines.add(l);
      }
    }
    return lines.size() > 1 ? String.join("\n", lines) : firstLines(text, 40);
  }

  private static String firstLines(String text, int n) {
    String[] lines = text.split("\n");
    if (lines.length <= n) {
      return text;
    }
    return String.join("\n", java.util.Arrays.copyOf(lines, n)) + "\n…";
  }

  private static void pause() {
    try {
      Thread.sleep(250); // polling the REST API
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ClusterException("interrupted while polling the cluster");
    }
  }
}
