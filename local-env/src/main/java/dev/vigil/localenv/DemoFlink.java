package dev.vigil.localenv;

import dev.vigil.localenv.cluster.ClusterException;
import dev.vigil.localenv.cluster.ClusterJobs;
import dev.vigil.localenv.cluster.StandaloneCluster;
import dev.vigil.transforms.flink.FeatureStage;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.flink.api.common.JobID;
import org.apache.flink.api.common.JobStatus;

/**
 * The demo's running scoring job, wherever it runs: the in-JVM MiniCluster ({@link Mini}) or a
 * {@link StandaloneCluster} of its own JobManager and TaskManager processes ({@link Standalone}).
 * The watch loop of {@link DemoCommand} sees only this.
 */
interface DemoFlink {
  /** The job's id. */
  String jobId();

  /**
   * Called on every tick of the watch loop. Throws {@link IllegalStateException} with the job's
   * failure once the job has ended; returns a line for standard error (e.g. "recovered") or null.
   */
  String poll() throws Exception;

  /**
   * Whether a task manager may be killed now: the job runs every task and has completed a
   * checkpoint since it was (re)started, so that a kill tests recovery, not a restart loop.
   */
  boolean readyToKill() throws Exception;

  /** Kills a task manager that holds tasks and starts a replacement; says which, for the log. */
  String killTaskManager() throws Exception;

  /** The feature stages' late, out-of-order and forced counts (job accumulators), so far. */
  Map<String, Long> stageCounts() throws Exception;

  List<String> STAGE_COUNTS =
      List.of(FeatureStage.ACC_LATE, FeatureStage.ACC_OUT_OF_ORDER, FeatureStage.ACC_FORCED);

  /** The MiniCluster of {@link LocalServices}: one task manager, terminated and replaced. */
  final class Mini implements DemoFlink {
    private final LocalServices services;
    private final JobID job;

    Mini(LocalServices services, JobID job) {
      this.services = services;
      this.job = job;
    }

    @Override
    public String jobId() {
      return job.toString();
    }

    @Override
    public String poll() throws Exception {
      JobStatus status = services.flink.getJobStatus(job).get(10, TimeUnit.SECONDS);
      if (status.isGloballyTerminalState()) {
        throw new IllegalStateException("the scoring job ended (" + status + "): " + failure());
      }
      return null;
    }

    /** As before the cluster: the watch loop's "results since the last kill" is the guard. */
    @Override
    public boolean readyToKill() {
      return true;
    }

    @Override
    public String killTaskManager() throws Exception {
      services.killTaskManager();
      return "task manager killed";
    }

    @Override
    public Map<String, Long> stageCounts() throws Exception {
      var graph = services.flink.getArchivedExecutionGraph(job).get(30, TimeUnit.SECONDS);
      Map<String, Long> counts = new LinkedHashMap<>();
      for (String name : STAGE_COUNTS) {
        var v = graph.getAccumulatorsSerialized().get(name);
        Object o = v == null ? null
            : v.deserializeValue(DemoCommand.class.getClassLoader()).getUnchecked();
        counts.put(name, o instanceof Long l ? l : 0L);
      }
      return counts;
    }

    /** Waits until the job is RUNNING; fails with its error if it ends first. */
    void awaitRunning() throws Exception {
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (System.nanoTime() < deadline) {
        JobStatus status = services.flink.getJobStatus(job).get(10, TimeUnit.SECONDS);
        if (status == JobStatus.RUNNING) {
          return;
        }
        if (status.isGloballyTerminalState()) {
          throw new IllegalStateException("the scoring job ended before it ran (" + status + "): "
              + failure());
        }
        Thread.sleep(100); // polling the job status
      }
      throw new IllegalStateException("the scoring job was not running after 120 s");
    }

    private String failure() {
      try {
        return services.flink.requestJobResult(job).get(10, TimeUnit.SECONDS)
            .getSerializedThrowable().map(t -> t.getFullStringifiedStackTrace())
            .orElse("no error");
      } catch (Exception e) {
        return "(its result cannot be read: " + e + ")";
      }
    }
  }

  /**
   * The job on a {@link StandaloneCluster}, read through its REST API ({@link ClusterJobs}). A
   * kill SIGKILLs a TaskManager process that holds tasks and starts a replacement process; the
   * job counts as recovered once Flink has restored it from a checkpoint (the checkpoints'
   * {@code restored} count went up) and every task runs again, and a next kill waits for a
   * checkpoint completed after that.
   */
  final class Standalone implements DemoFlink {
    /** REST calls of the watch loop at most this often (the loop ticks every 50 ms). */
    private static final long POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(500);
    private final StandaloneCluster cluster;
    private final ClusterJobs jobs;
    private final String job;
    private long lastPoll;
    private boolean recovering;
    private long restoredAtKill;
    private long killedAt;
    /** Completed checkpoints when the job last started running every task. */
    private long checkpointsAtStart;
    private boolean ready;

    Standalone(StandaloneCluster cluster, ClusterJobs jobs, String job) {
      this.cluster = cluster;
      this.jobs = jobs;
      this.job = job;
      this.checkpointsAtStart = jobs.completedCheckpoints(job);
    }

    @Override
    public String jobId() {
      return job;
    }

    /** Waits until the job has completed a checkpoint since it started running every task. */
    void awaitCheckpoint(Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (jobs.completedCheckpoints(job) <= checkpointsAtStart) {
        String status = jobs.status(job);
        if (List.of("FINISHED", "CANCELED", "FAILED", "SUSPENDED").contains(status)) {
          throw new IllegalStateException("the scoring job ended (" + status + ") before its"
              + " first checkpoint: " + jobs.rootException(job));
        }
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException("the scoring job completed no checkpoint within "
              + timeout.toSeconds() + " s of running (last failure: " + jobs.rootException(job)
              + "); the JobManager's log is under " + cluster.logDir());
        }
        Thread.sleep(200); // polling the checkpoint count
      }
      ready = true;
    }

    @Override
    public String poll() {
      long now = System.nanoTime();
      if (now - lastPoll < POLL_NANOS) {
        return null;
      }
      lastPoll = now;
      for (StandaloneCluster.Node tm : cluster.taskManagers()) {
        if (!tm.process().isAlive()) {
          throw new IllegalStateException(tm.name() + " (pid " + tm.pid() + ") exited by itself"
              + " (code " + tm.process().exitValue() + "); " + StandaloneCluster.tail(tm));
        }
      }
      String status = jobs.status(job);
      if (List.of("FINISHED", "CANCELED", "FAILED", "SUSPENDED").contains(status)) {
        throw new IllegalStateException("the scoring job ended (" + status + "): "
            + jobs.rootException(job));
      }
      if (recovering && jobs.restoredCheckpoints(job) > restoredAtKill
          && jobs.allTasksRunning(job)) {
        recovering = false;
        checkpointsAtStart = jobs.completedCheckpoints(job);
        return String.format(Locale.ROOT, "demo: the job recovered from its last checkpoint:"
            + " every task running again %.1f s after the kill", (now - killedAt) / 1e9);
      }
      if (!recovering && !ready) {
        ready = jobs.completedCheckpoints(job) > checkpointsAtStart;
      }
      return null;
    }

    @Override
    public boolean readyToKill() {
      return !recovering && ready;
    }

    @Override
    public String killTaskManager() {
      int victim = cluster.taskManagerWithTasks();
      if (victim < 0) {
        throw new ClusterException("no live TaskManager of " + cluster.restUrl() + " holds a"
            + " task of job " + job + " (GET /taskmanagers)");
      }
      restoredAtKill = jobs.restoredCheckpoints(job);
      StandaloneCluster.Node killed = cluster.killTaskManager(victim);
      killedAt = System.nanoTime();
      recovering = true;
      ready = false;
      StandaloneCluster.Node replacement = cluster.startTaskManager();
      return String.format(Locale.ROOT, "TaskManager process %s (pid %d) SIGKILLed, %s (pid %d)"
          + " started in its place", killed.name(), killed.pid(), replacement.name(),
          replacement.pid());
    }

    @Override
    public Map<String, Long> stageCounts() {
      Map<String, String> acc = jobs.accumulators(job);
      Map<String, Long> counts = new LinkedHashMap<>();
      for (String name : STAGE_COUNTS) {
        String v = acc.get(name);
        counts.put(name, v == null || !v.matches("-?\\d+") ? 0L : Long.parseLong(v));
      }
      return counts;
    }
  }
}
