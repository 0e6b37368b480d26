package dev.vigil.k8s;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarFile;
import org.junit.jupiter.api.Test;

/**
 * The class named in job.entryClass is in the job jar the image carries, with a {@code public
 * static void main(String[])}, and it resolves the way the cluster will load it: the job jar on top
 * of Flink alone (no Kafka connector, no Vigil module from the test classpath).
 */
class EntryClassTest {

  /**
   * The jar the jobs module builds, in this build's folder (jobs/${vigil.build.dir}/), or {@code
   * -Dvigil.jobs.jar=PATH}. Skipped (loudly) while jobs/pom.xml has no shade plugin: the thin jar
   * cannot run on the cluster, and DockerfileTest reports the name mismatch then.
   */
  private static Path jobJar() {
    String override = System.getProperty("vigil.jobs.jar");
    if (override != null) {
      return Path.of(override);
    }
    assumeTrue(Builds.jobsBuildsAShadedJar(), "jobs/pom.xml builds no shaded jar yet, so there is"
        + " no job jar the image could run: EntryClassTest is skipped until it does");
    String name = Builds.jobsJarName();
    Path jar = Repo.root().resolve("jobs").resolve(Repo.buildDir()).resolve(name);
    assertThat(Files.isRegularFile(jar)).as("the job jar %s (jobs/pom.xml builds %s; build it"
        + " with ./mvnw -pl jobs -am package, or run this module with -am)", jar, name).isTrue();
    return jar;
  }

  @Test
  void theEntryClassOfEveryDeploymentHasAPublicStaticMainInTheJobJar() throws Exception {
    Path jar = jobJar();
    try (URLClassLoader cluster = clusterClassLoader(jar)) {
      for (String target : Manifests.TARGETS) {
        String entry = (String) Yamls.at(Manifests.flinkDeployment(target), "spec.job.entryClass");
        try (JarFile jf = new JarFile(jar.toFile())) {
          assertThat(jf.getEntry(entry.replace('.', '/') + ".class")).as(target + ": " + entry
              + " in " + jar.getFileName()).isNotNull();
        }
        Class<?> c = Class.forName(entry, false, cluster);
        assertThat(c.getClassLoader()).isSameAs(cluster);
        Method main;
        try {
          // Resolves the signatures of every public method, as Flink's PackagedProgram does.
          main = c.getMethod("main", String[].class);
        } catch (NoClassDefFoundError e) {
          throw new AssertionError(target + ": " + entry + " needs " + e.getMessage()
              + ", which is neither in " + jar.getFileName() + " nor in Flink: is the job jar"
              + " shaded (Vigil modules and connectors inside, Flink provided)?", e);
        }
        assertThat(Modifier.isStatic(main.getModifiers())).as("main is static").isTrue();
        assertThat(Modifier.isPublic(main.getModifiers())).as("main is public").isTrue();
        assertThat(main.getReturnType()).isEqualTo(void.class);
      }
    }
  }

  @Test
  void theJobJarBundlesTheKafkaConnectorButNotFlink() throws Exception {
    try (JarFile jf = new JarFile(jobJar().toFile())) {
      assertThat(jf.getEntry("org/apache/flink/connector/kafka/source/KafkaSource.class"))
          .as("the Kafka connector is shaded into the job jar (not part of the Flink image)")
          .isNotNull();
      assertThat(jf.getEntry(
          "org/apache/flink/streaming/api/environment/StreamExecutionEnvironment.class"))
          .as("Flink itself is provided by the image, never in the job jar").isNull();
    }
  }

  /**
   * The job jar first, then the Flink jars of the test classpath minus what the image does not
   * have (connectors and formats outside flink-dist); parent: the platform loader only.
   */
  private static URLClassLoader clusterClassLoader(Path jar) throws Exception {
    List<URL> urls = new ArrayList<>();
    urls.add(jar.toUri().toURL());
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      String name = new File(entry).getName();
      boolean flinkDist = entry.replace('\\', '/').contains("/org/apache/flink/")
          && !name.startsWith("flink-connector-kafka") && !name.startsWith("flink-avro")
          || entry.replace('\\', '/').contains("/org/slf4j/");
      if (flinkDist) {
        urls.add(new File(entry).toURI().toURL());
      }
    }
    return new URLClassLoader(urls.toArray(URL[]::new), ClassLoader.getPlatformClassLoader());
  }
}
