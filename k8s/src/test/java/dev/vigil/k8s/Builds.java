package dev.vigil.k8s;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.xml.parsers.DocumentBuilderFactory;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

/** What the Maven build produces, read from the poms, and the Dockerfile's instructions. */
final class Builds {
  private Builds() {}

  /** {@code flink.version} of the root pom. */
  static String flinkVersion() {
    return property(pom(Repo.root().resolve("pom.xml")), "flink.version");
  }

  /**
   * The file name of the jar that jobs/pom.xml builds: the {@code finalName} of its build or of its
   * shade plugin (the shaded jar that replaces the main one), else artifactId-version.jar.
   */
  static String jobsJarName() {
    Path pomFile = Repo.root().resolve("jobs/pom.xml");
    if (!Files.isRegularFile(pomFile)) {
      throw new AssertionError("no jobs module (" + pomFile + "): the job jar cannot be built");
    }
    Document pom = pom(pomFile);
    Element project = pom.getDocumentElement();
    String artifactId = text(child(project, "artifactId"));
    String version = text(child(project, "version"));
    if (version == null) {
      version = text(child(child(project, "parent"), "version"));
    }
    // The shade plugin's outputFile, when it names the jar outright (jobs/pom.xml does).
    NodeList outputs = pom.getElementsByTagName("outputFile");
    for (int i = 0; i < outputs.getLength(); i++) {
      String file = outputs.item(i).getTextContent().strip();
      if (file.endsWith(".jar")) {
        return file.substring(file.lastIndexOf('/') + 1);
      }
    }
    String finalName = null;
    NodeList names = pom.getElementsByTagName("finalName");
    for (int i = 0; i < names.getLength(); i++) {
      finalName = names.item(i).getTextContent().strip(); // the shade plugin's, if both
    }
    if (finalName == null) {
      finalName = artifactId + "-" + version;
    }
    return finalName.replace("${project.artifactId}", artifactId)
        .replace("${project.version}", version) + ".jar";
  }

  /**
   * Whether jobs/pom.xml builds a shaded jar (the maven-shade-plugin), the only kind the image can
   * run. Until it does, the checks of that jar cannot run (see EntryClassTest).
   */
  static boolean jobsBuildsAShadedJar() {
    Path pomFile = Repo.root().resolve("jobs/pom.xml");
    return Files.isRegularFile(pomFile) && Yamls.read(pomFile).contains("maven-shade-plugin");
  }

  /** The Dockerfile's instructions, continuation lines joined, comments left out. */
  static List<String> dockerfile() {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    for (String line : Yamls.read(Repo.k8s().resolve("Dockerfile")).split("\n")) {
      String t = line.strip();
      if (cur.length() == 0 && (t.isEmpty() || t.startsWith("#"))) {
        continue;
      }
      if (t.endsWith("\\")) {
        cur.append(t, 0, t.length() - 1).append(' ');
      } else {
        cur.append(t);
        out.add(cur.toString().strip());
        cur.setLength(0);
      }
    }
    return out;
  }

  private static Document pom(Path file) {
    try {
      return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile());
    } catch (Exception e) {
      throw new IllegalStateException(file + ": cannot parse", e);
    }
  }

  private static String property(Document pom, String name) {
    NodeList nodes = pom.getElementsByTagName(name);
    if (nodes.getLength() == 0) {
      throw new IllegalStateException("no property " + name);
    }
    return nodes.item(0).getTextContent().strip();
  }

  private static Element child(Element parent, String name) {
    if (parent == null) {
      return null;
    }
    for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals(name)) {
        return e;
      }
    }
    return null;
  }

  private static String text(Element e) {
    return e == null ? null : e.getTextContent().strip();
  }
}
