package dev.vigil.jobs;

import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Metric;
import org.apache.flink.metrics.MetricConfig;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.metrics.reporter.MetricReporter;
import org.apache.flink.metrics.reporter.MetricReporterFactory;

/**
 * Test-only: a metric reporter of the MiniCluster in this JVM that keeps every live metric by its
 * identifier ({@code <host>.taskmanager.<tm>.<job name>.<operator>.<subtask>.vigil.scored}, {@code
 * <host>.jobmanager.<job name>.numberOfFailedCheckpoints}), so that a test reads what an operator
 * would see on a dashboard. One per JVM: Flink creates reporters through a factory by class name.
 */
public final class TestingMetrics implements MetricReporter {
  private static final TestingMetrics INSTANCE = new TestingMetrics();
  private final Map<String, Metric> metrics = new ConcurrentHashMap<>();

  private TestingMetrics() {}

  /** {@code flink} with this reporter added. */
  static Configuration addTo(Configuration flink) {
    flink.setString("metrics.reporter.vigil-test.factory.class", Factory.class.getName());
    return flink;
  }

  /**
   * The sum of the counters and numeric gauges named {@code name} (the last identifier component)
   * of job {@code jobName}, over every subtask; 0 if there is none (yet).
   */
  static long sum(String jobName, String name) {
    return sum(jobName, "", name);
  }

  /**
   * {@link #sum(String, String)} over the operators (or tasks) whose identifier has {@code
   * operator} in it, e.g. {@code "scores: "} for the scores sink's writer and committer (dots in
   * names are underscores in identifiers).
   */
  static long sum(String jobName, String operator, String name) {
    long sum = 0;
    for (Map.Entry<String, Metric> e : INSTANCE.metrics.entrySet()) {
      String id = e.getKey();
      if (id.endsWith("." + name) && id.contains("." + jobName + ".") && id.contains(operator)) {
        sum += value(e.getValue());
      }
    }
    return sum;
  }

  /** The job's reconciliation counts, as of one checkpoint, per input partition. */
  record Reconciliation(long checkpoint, Map<Integer, long[]> byPartition) {
    static final List<String> NAMES = List.of("in", "scored", "dead_lettered", "in_flight");

    /** Per partition: {@code in − scored − dead_lettered − in_flight} (0: every record accounted). */
    Map<Integer, Long> unaccounted() {
      Map<Integer, Long> u = new java.util.TreeMap<>();
      byPartition.forEach((p, c) -> u.put(p, c[0] - c[1] - c[2] - c[3]));
      return u;
    }

    @Override
    public String toString() {
      StringBuilder b = new StringBuilder("checkpoint " + checkpoint);
      byPartition.forEach((p, c) -> b.append(", partition ").append(p).append(": in ").append(c[0])
          .append(" scored ").append(c[1]).append(" dead_lettered ").append(c[2])
          .append(" in_flight ").append(c[3]));
      return b.toString();
    }

    long total(String name) {
      int i = NAMES.indexOf(name);
      return byPartition.values().stream().mapToLong(c -> c[i]).sum();
    }
  }

  /**
   * The reconciliation gauges of job {@code jobName} ({@code vigil.reconcile.partition.<p>.<name>},
   * summed over subtasks and stages), read while every operator shows the same checkpoint; null
   * while they do not (a checkpoint's notifications are on their way), or before there is one.
   */
  static Reconciliation reconciliation(String jobName) {
    java.util.Set<Long> before = checkpoints(jobName);
    if (before.size() != 1) {
      return null;
    }
    Map<Integer, long[]> counts = new java.util.TreeMap<>();
    java.util.regex.Pattern id = java.util.regex.Pattern.compile(
        ".*\\.vigil\\.reconcile\\.partition\\.(\\d+)\\.(\\w+)$");
    for (Map.Entry<String, Metric> e : INSTANCE.metrics.entrySet()) {
      var m = id.matcher(e.getKey());
      if (m.matches() && e.getKey().contains("." + jobName + ".")) {
        int i = Reconciliation.NAMES.indexOf(m.group(2));
        if (i >= 0) {
          counts.computeIfAbsent(Integer.parseInt(m.group(1)), p -> new long[4])[i] +=
              value(e.getValue());
        }
      }
    }
    return checkpoints(jobName).equals(before)
        ? new Reconciliation(before.iterator().next(), counts) : null;
  }

  /** The distinct checkpoint ids that job {@code jobName}'s reconciliation gauges are as of. */
  private static java.util.Set<Long> checkpoints(String jobName) {
    java.util.Set<Long> ids = new java.util.HashSet<>();
    for (Map.Entry<String, Metric> e : INSTANCE.metrics.entrySet()) {
      String k = e.getKey();
      if (k.contains("." + jobName + ".") && k.contains(".vigil.reconcile.")
          && k.endsWith("_checkpoint")) {
        ids.add(value(e.getValue()));
      }
    }
    return ids;
  }

  private static long value(Metric m) {
    if (m instanceof Counter c) {
      return c.getCount();
    }
    if (m instanceof Gauge<?> g && g.getValue() instanceof Number n) {
      return n.longValue();
    }
    return 0;
  }

  @Override
  public void open(MetricConfig config) {}

  @Override
  public void close() {}

  @Override
  public void notifyOfAddedMetric(Metric metric, String name, MetricGroup group) {
    metrics.put(group.getMetricIdentifier(name), metric);
  }

  @Override
  public void notifyOfRemovedMetric(Metric metric, String name, MetricGroup group) {
    // only if it is still this one: a restarted task registers its own under the same identifier
    metrics.remove(group.getMetricIdentifier(name), metric);
  }

  /** What {@code metrics.reporter.<name>.factory.class} names. */
  public static final class Factory implements MetricReporterFactory {
    @Override
    public MetricReporter createMetricReporter(Properties properties) {
      return INSTANCE;
    }
  }
}
