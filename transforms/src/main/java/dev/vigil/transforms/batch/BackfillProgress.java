package dev.vigil.transforms.batch;

import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.flink.api.common.JobExecutionResult;
import org.apache.flink.core.execution.JobClient;

/**
 * Waits for a batch backfill job and prints a progress line at each interval from its accumulators
 * (events read; per entity, events and keys done), as the TaskManagers report them with their
 * heartbeats. BATCH mode runs the stages one after the other: first every event is read (and
 * shuffled to disk), then each entity's keys are replayed, then the parts are sorted and written.
 */
final class BackfillProgress {
  private final PrintStream out;
  private final Duration interval;
  private final List<String> entities;

  BackfillProgress(PrintStream out, Duration interval, List<String> entities) {
    this.out = out;
    this.interval = interval;
    this.entities = List.copyOf(entities);
  }

  /** The job's result once it finished; a failure as the {@link ExecutionException}. */
  JobExecutionResult await(JobClient job) throws ExecutionException, InterruptedException {
    long started = System.nanoTime();
    CompletableFuture<JobExecutionResult> result = job.getJobExecutionResult();
    while (true) {
      try {
        return result.get(interval.toMillis(), TimeUnit.MILLISECONDS);
      } catch (TimeoutException e) {
        print(job, (System.nanoTime() - started) / 1e9);
      }
    }
  }

  private void print(JobClient job, double seconds) throws InterruptedException {
    Map<String, Object> acc;
    try {
      acc = job.getAccumulators().get(interval.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      return; // no figures this time (the job may be finishing)
    }
    long read = count(acc, BatchBackfill.READ);
    StringBuilder line = new StringBuilder(String.format(Locale.ROOT,
        "backfill: %,d events read (%,.0f events/s)", read, read / Math.max(seconds, 1e-9)));
    for (String entity : entities) {
      line.append(String.format(Locale.ROOT, ", %s %,d events of %,d keys", entity,
          count(acc, BatchBackfill.entityCounter(entity)),
          count(acc, BatchBackfill.entityCounter(entity) + ".keys")));
    }
    line.append(String.format(Locale.ROOT, ", %.0f s", seconds));
    out.println(line);
    out.flush();
  }

  static long count(Map<String, Object> acc, String name) {
    Object v = acc.get(name);
    return v instanceof Number n ? n.longValue() : 0;
  }
}
