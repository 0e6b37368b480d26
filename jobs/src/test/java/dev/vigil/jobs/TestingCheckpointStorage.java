package dev.vigil.jobs;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.core.fs.FSDataOutputStream;
import org.apache.flink.core.fs.FileSystem;
import org.apache.flink.core.fs.FileSystemFactory;
import org.apache.flink.core.fs.local.LocalFileSystem;

/**
 * Test-only: checkpoint storage that refuses writes while told to, as a full or read-only volume
 * or an object store answering errors does. Scheme {@value #SCHEME} ({@code faulty:///abs/path}):
 * the local file system, except that while {@link #refuseWrites} is on every file creation fails
 * with an IOException; directories may still be created (an object store has none to fail on),
 * so the checkpoint is triggered, the tasks' state uploads fail and the checkpoint is declined
 * (what Flink counts against {@code execution.checkpointing.tolerable-failed-checkpoints}).
 * Registered through META-INF/services; one switch per JVM, as the MiniCluster is in this JVM
 * (running as root, a directory cannot be made unwritable with permissions).
 */
public final class TestingCheckpointStorage implements FileSystemFactory {
  static final String SCHEME = "faulty";
  private static final AtomicBoolean REFUSING = new AtomicBoolean();
  private static final AtomicLong REFUSED = new AtomicLong();

  /** The checkpoint directory URI of {@code dir} on this storage. */
  static String uri(Path dir) {
    return SCHEME + "://" + dir.toAbsolutePath();
  }

  /** From now on every file creation fails ({@code true}) or works again ({@code false}). */
  static void refuseWrites(boolean refuse) {
    REFUSING.set(refuse);
  }

  /** How many file creations were refused so far in this JVM. */
  static long refused() {
    return REFUSED.get();
  }

  @Override
  public String getScheme() {
    return SCHEME;
  }

  @Override
  public FileSystem create(URI fsUri) {
    return new Refusing();
  }

  private static final class Refusing extends LocalFileSystem {
    @Override
    public URI getUri() {
      return URI.create(SCHEME + ":///");
    }

    @Override
    public FSDataOutputStream create(org.apache.flink.core.fs.Path path, WriteMode mode)
        throws IOException {
      if (REFUSING.get()) {
        REFUSED.incrementAndGet();
        throw new IOException("checkpoint storage refuses writes (test fault): " + path);
      }
      return super.create(path, mode);
    }
  }
}
