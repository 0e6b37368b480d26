package dev.vigil.localenv.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Enumeration;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * The shaded job jar ({@code jobs/target/vigil-jobs.jar}, what the k8s image ships and what
 * ClusterITCase submits) against the classpath the cluster runs on ({@code
 * cluster-lib/target/classpath.txt}): no Flink runtime class, and no unshaded copy of any library
 * the cluster also loads, which child-first class loading would otherwise put next to Flink's own.
 */
class JobJarTest {
  static final Path JAR = Path.of(System.getProperty("vigil.jobs.jar",
      "../jobs/target/vigil-jobs.jar"));

  /** The Flink packages a job jar is expected to carry: the connector and the format it bundles. */
  static final List<String> FLINK_IN_JAR = List.of(
      "org/apache/flink/connector/kafka/",
      "org/apache/flink/streaming/connectors/kafka/",
      // JSONKeyValueDeserializationSchema: part of flink-connector-kafka, not of Flink
      "org/apache/flink/streaming/util/serialization/",
      // flink-avro is not in a distribution's lib/: jobs bundle it
      "org/apache/flink/formats/avro/");

  /**
   * Libraries with native code that the Kafka client bundles and Flink's runtime also has: they
   * cannot be relocated (their JNI symbols name the package). Child-first loading gives the job
   * its own copy (Kafka's version); no type of theirs crosses between Flink and the job.
   */
  static final List<String> NATIVE_ALLOWED = List.of("org/xerial/snappy/", "net/jpountz/");

  @Test
  void carriesTheKafkaConnectorAndNoFlinkRuntimeClass() throws IOException {
    Set<String> classes = classes(JAR);
    assertThat(classes).contains(
        "org/apache/flink/connector/kafka/source/KafkaSource.class",
        "org/apache/flink/connector/kafka/sink/KafkaSink.class",
        "dev/vigil/jobs/ScoringJob.class");
    List<String> flink = classes.stream().filter(c -> c.startsWith("org/apache/flink/"))
        .filter(c -> FLINK_IN_JAR.stream().noneMatch(c::startsWith)).toList();
    assertThat(flink).as("Flink classes in %s other than the Kafka connector's and flink-avro's"
        + " (Flink is provided by the cluster: scope provided in jobs/pom.xml)", JAR).isEmpty();
    for (String p : List.of("org/apache/flink/runtime/", "org/apache/flink/streaming/api/",
        "org/apache/flink/api/common/", "org/apache/flink/shaded/", "org/apache/flink/core/",
        "org/apache/flink/configuration/", "org/slf4j/", "org/apache/logging/log4j/",
        "com/esotericsoftware/kryo/", "org/objenesis/")) {
      assertThat(classes).as("classes under %s in %s", p, JAR)
          .noneMatch(c -> c.startsWith(p));
    }
  }

  @Test
  void carriesNoUnshadedCopyOfALibraryTheClusterAlsoLoads() throws IOException {
    Path cpFile = Path.of(System.getProperty(StandaloneCluster.CLASSPATH_PROPERTY,
        "../cluster-lib/target/classpath.txt"));
    TreeMap<String, String> clusterPackages = new TreeMap<>();
    for (String entry : Files.readString(cpFile).trim().split(File.pathSeparator)) {
      Path jar = Path.of(entry);
      for (String c : classes(jar)) {
        clusterPackages.putIfAbsent(packageOf(c), jar.getFileName().toString());
      }
    }
    TreeSet<String> overlaps = new TreeSet<>();
    for (String c : classes(JAR)) {
      String p = packageOf(c);
      if (clusterPackages.containsKey(p) && NATIVE_ALLOWED.stream().noneMatch(c::startsWith)) {
        overlaps.add(p + " (also in " + clusterPackages.get(p) + ")");
      }
    }
    assertThat(overlaps).as("packages of %s that the cluster's classpath (%s) also has:"
        + " exclude them from the shaded jar or relocate them (jobs/pom.xml)", JAR, cpFile)
        .isEmpty();
  }

  static Set<String> classes(Path jar) throws IOException {
    assertThat(jar).as("the jar (built by the jobs module's package phase)").isRegularFile();
    Set<String> out = new TreeSet<>();
    try (JarFile f = new JarFile(jar.toFile())) {
      // META-INF/versions/N/… classes are loaded only from a multi-release jar (some shaded jars
      // keep unrelocated copies there that no class loader ever sees).
      boolean multiRelease = f.isMultiRelease();
      for (Enumeration<JarEntry> e = f.entries(); e.hasMoreElements(); ) {
        String n = e.nextElement().getName();
        if (n.startsWith("META-INF/versions/")) {
          int slash = n.indexOf('/', "META-INF/versions/".length());
          if (!multiRelease || slash < 0) {
            continue;
          }
          n = n.substring(slash + 1);
        }
        if (n.endsWith(".class") && !n.endsWith("module-info.class")) {
          out.add(n);
        }
      }
    }
    return out;
  }

  private static String packageOf(String classFile) {
    int slash = classFile.lastIndexOf('/');
    return slash < 0 ? "" : classFile.substring(0, slash);
  }
}
