package dev.vigil.localenv.cluster;

import java.lang.reflect.InvocationTargetException;
import java.util.Arrays;
import java.util.Optional;

/**
 * The first main of every cluster process: {@code ParentWatch <parent pid> <main class> <args…>}.
 * With a parent pid above 0 the process exits (running Flink's own shutdown hooks) as soon as that
 * process is gone, even when it was SIGKILLed and its shutdown hook never ran: a test JVM that
 * dies leaves no JobManager or TaskManager behind. With 0 (a detached {@code vigil cluster
 * start}) it only calls the main class.
 *
 * <p>JDK classes only: {@link StandaloneCluster} copies this one class file into the work dir, so
 * nothing else of Vigil is on the cluster's classpath.
 */
public final class ParentWatch {
  private ParentWatch() {}

  public static void main(String[] args) throws Throwable {
    long parent = Long.parseLong(args[0]);
    if (parent > 0) {
      Optional<ProcessHandle> handle = ProcessHandle.of(parent);
      if (handle.isEmpty()) {
        System.err.println("vigil cluster: the process that started this one (" + parent
            + ") is gone; exiting");
        System.exit(143);
      }
      handle.get().onExit().thenRun(() -> {
        System.err.println("vigil cluster: the process that started this one (" + parent
            + ") exited; stopping");
        System.exit(143);
      });
    }
    try {
      Class.forName(args[1]).getMethod("main", String[].class)
          .invoke(null, (Object) Arrays.copyOfRange(args, 2, args.length));
    } catch (InvocationTargetException e) {
      throw e.getCause();
    }
  }
}
