package dev.vigil.k8s;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.FallbackKey;
import org.apache.flink.configuration.MetricOptions;

/**
 * The real Flink configuration keys: every static {@link ConfigOption} field of every class in the
 * Flink jars on the test classpath (flink-core, -runtime, -clients, -streaming-java,
 * -statebackend-rocksdb, -kubernetes, -metrics-prometheus...), with their fallback and deprecated
 * keys, found by scanning the jars (a class is loaded only if its bytes mention ConfigOption).
 *
 * <p>Open-ended families: {@code metrics.reporter.<name>.<option>}, where the option is one of
 * MetricOptions' per-reporter options or a Prometheus reporter argument, and {@code
 * kubernetes.operator.*} from {@link #OPERATOR_KEYS}.
 */
final class FlinkConfigKeys {
  /** Per-deployment operator options that these manifests may use. The operator's jar is not
   * usable here (the 1.10 API jar on Maven Central predates Flink 2.x), so this is a copy: keys of
   * {@code KubernetesOperatorConfigOptions} in apache/flink-kubernetes-operator
   * (flink-kubernetes-operator/src/main/java/org/apache/flink/kubernetes/operator/config/), as
   * documented under "Operations / Configuration" of the operator docs. Add a key here only after
   * finding it there. */
  static final Set<String> OPERATOR_KEYS = Set.of(
      "kubernetes.operator.job.upgrade.last-state-fallback.enabled",
      "kubernetes.operator.job.upgrade.ignore-pending-savepoint",
      "kubernetes.operator.job.upgrade.last-state.max.allowed.checkpoint.age",
      "kubernetes.operator.job.upgrade.inplace-scaling.enabled",
      "kubernetes.operator.periodic.savepoint.interval",
      "kubernetes.operator.periodic.checkpoint.interval",
      "kubernetes.operator.savepoint.history.max.age",
      "kubernetes.operator.savepoint.history.max.count",
      "kubernetes.operator.savepoint.format.type",
      "kubernetes.operator.savepoint.trigger.grace-period",
      "kubernetes.operator.savepoint.dispose-on-delete",
      "kubernetes.operator.savepoint.cleanup.enabled",
      "kubernetes.operator.snapshot.resource.enabled",
      "kubernetes.operator.deployment.rollback.enabled",
      "kubernetes.operator.deployment.readiness.timeout",
      "kubernetes.operator.jm-deployment-recovery.enabled",
      "kubernetes.operator.jm-deployment.shutdown-ttl",
      "kubernetes.operator.job.restart.failed",
      "kubernetes.operator.cluster.health-check.enabled",
      "kubernetes.operator.cluster.health-check.restarts.window",
      "kubernetes.operator.cluster.health-check.restarts.threshold",
      "kubernetes.operator.cluster.health-check.checkpoint-progress.enabled",
      "kubernetes.operator.cluster.health-check.checkpoint-progress.window");

  static final String OPERATOR_PREFIX = "kubernetes.operator.";
  static final String REPORTER_PREFIX = "metrics.reporter.";

  private static final byte[] CONFIG_OPTION = "Lorg/apache/flink/configuration/ConfigOption;"
      .getBytes(StandardCharsets.US_ASCII);

  /** Key → its option (a fallback key maps to the option that reads it). */
  final Map<String, ConfigOption<?>> keys = new TreeMap<>();
  /** Keys that come after {@code metrics.reporter.<name>.}. */
  final Set<String> reporterOptions = new TreeSet<>();
  /** What was scanned: jar file names. */
  final List<String> jars = new ArrayList<>();
  int classesWithOptions;

  private static FlinkConfigKeys instance;

  static synchronized FlinkConfigKeys get() {
    if (instance == null) {
      instance = new FlinkConfigKeys();
    }
    return instance;
  }

  private FlinkConfigKeys() {
    ClassLoader loader = FlinkConfigKeys.class.getClassLoader();
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      File f = new File(entry);
      if (f.isFile() && f.getName().startsWith("flink-") && f.getName().endsWith(".jar")) {
        jars.add(f.getName());
        scan(f, loader);
      }
    }
    // The per-reporter options of MetricOptions have keys relative to metrics.reporter.<name>.
    for (Field field : MetricOptions.class.getFields()) {
      if (field.getName().startsWith("REPORTER_") && ConfigOption.class.isAssignableFrom(
          field.getType())) {
        ConfigOption<?> o = (ConfigOption<?>) read(field);
        if (!o.key().startsWith("metrics.")) {
          reporterOptions.add(o.key());
          keys.remove(o.key());
        }
      }
    }
    // The Prometheus reporter's own argument (not a ConfigOption): PrometheusReporterFactory.ARG_PORT.
    reporterOptions.add(prometheusPortArgument());
  }

  private void scan(File jar, ClassLoader loader) {
    try (JarFile jf = new JarFile(jar)) {
      Enumeration<JarEntry> entries = jf.entries();
      while (entries.hasMoreElements()) {
        JarEntry e = entries.nextElement();
        String name = e.getName();
        if (!name.endsWith(".class") || !name.startsWith("org/apache/flink/")
            || name.contains("/shaded/") || name.endsWith("module-info.class")) {
          continue;
        }
        byte[] bytes;
        try (InputStream in = jf.getInputStream(e)) {
          bytes = in.readAllBytes();
        }
        if (!contains(bytes, CONFIG_OPTION)) {
          continue;
        }
        String className = name.substring(0, name.length() - 6).replace('/', '.');
        collect(className, loader);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(jar + ": cannot read", e);
    }
  }

  private void collect(String className, ClassLoader loader) {
    Field[] fields;
    try {
      fields = Class.forName(className, false, loader).getDeclaredFields();
    } catch (Throwable t) {
      return; // needs a class that is not on this classpath: not a configuration holder we use
    }
    boolean found = false;
    for (Field f : fields) {
      if (!Modifier.isStatic(f.getModifiers())
          || !ConfigOption.class.isAssignableFrom(f.getType())) {
        continue;
      }
      Object value;
      try {
        f.setAccessible(true);
        value = f.get(null);
      } catch (Throwable t) {
        continue;
      }
      if (value instanceof ConfigOption<?> o) {
        found = true;
        keys.putIfAbsent(o.key(), o);
        for (FallbackKey fk : o.fallbackKeys()) {
          keys.putIfAbsent(fk.getKey(), o);
        }
      }
    }
    if (found) {
      classesWithOptions++;
    }
  }

  /** Null when {@code key} is a real key (or one of the open families); otherwise why not. */
  String problem(String key) {
    if (keys.containsKey(key)) {
      return null;
    }
    if (key.startsWith(OPERATOR_PREFIX)) {
      return OPERATOR_KEYS.contains(key) ? null : "'" + key + "' is not a Flink Kubernetes"
          + " Operator key (closest: '" + Closest.to(key, OPERATOR_KEYS) + "'; the allowed ones are"
          + " FlinkConfigKeys.OPERATOR_KEYS)";
    }
    if (key.startsWith(REPORTER_PREFIX)) {
      String rest = key.substring(REPORTER_PREFIX.length());
      int dot = rest.indexOf('.');
      if (dot > 0) {
        String option = rest.substring(dot + 1);
        if (reporterOptions.contains(option)) {
          return null;
        }
        return "'" + key + "': '" + option + "' is not a reporter option (closest: '"
            + REPORTER_PREFIX + rest.substring(0, dot) + "."
            + Closest.to(option, reporterOptions) + "')";
      }
    }
    return "'" + key + "' is not a Flink 2.2 configuration key (closest: '"
        + Closest.to(key, keys.keySet()) + "')";
  }

  /** Null when {@code value} parses as the type of {@code key}'s option; otherwise why not. */
  String valueProblem(String key, String value) {
    ConfigOption<?> option = keys.get(key);
    if (option == null) {
      return null;
    }
    Configuration c = Configuration.fromMap(Map.of(key, value));
    try {
      c.get(option);
      return null;
    } catch (RuntimeException e) {
      return "'" + key + "': '" + value + "' does not parse (" + e.getMessage() + ")";
    }
  }

  private static String prometheusPortArgument() {
    try {
      Field f = Class.forName("org.apache.flink.metrics.prometheus.PrometheusReporterFactory")
          .getDeclaredField("ARG_PORT");
      f.setAccessible(true);
      return (String) f.get(null);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("flink-metrics-prometheus is not on the test classpath", e);
    }
  }

  private static Object read(Field f) {
    try {
      return f.get(null);
    } catch (IllegalAccessException e) {
      throw new IllegalStateException(f + ": cannot read", e);
    }
  }

  private static boolean contains(byte[] haystack, byte[] needle) {
    outer:
    for (int i = 0; i <= haystack.length - needle.length; i++) {
      for (int j = 0; j < needle.length; j++) {
        if (haystack[i + j] != needle[j]) {
          continue outer;
        }
      }
      return true;
    }
    return false;
  }
}
