package dev.vigil.k8s;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where things are: the repository root, the k8s folder, the shared CRDs, the build folder. */
final class Repo {
  private Repo() {}

  /** The repository root: {@code vigil.repo.root} (set by Surefire), else the parent of the cwd. */
  static Path root() {
    String p = System.getProperty("vigil.repo.root");
    Path root = p != null ? Path.of(p) : Path.of("").toAbsolutePath().getParent();
    return root.toAbsolutePath().normalize();
  }

  static Path k8s() {
    return root().resolve("k8s");
  }

  /** The build folder name of every module ({@code -Dvigil.build.dir}, default target). */
  static String buildDir() {
    return System.getProperty("vigil.build.dir", "target");
  }

  /** {@code <repo>/../shared/k8s-crds}: the operator's CRDs, beside the repository. */
  static Path crdDir() {
    Path dir = root().resolve("../shared/k8s-crds").normalize();
    if (!Files.isDirectory(dir)) {
      throw new IllegalStateException("the Flink Kubernetes Operator CRDs are not at " + dir
          + " (expected ../shared/k8s-crds beside the repository root " + root()
          + "); the manifests cannot be validated without them");
    }
    return dir;
  }
}
