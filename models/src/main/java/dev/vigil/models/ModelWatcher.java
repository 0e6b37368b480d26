package dev.vigil.models;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The current model, swapped at run time when its file changes: no restart, no lost events.
 *
 * <p>{@code location} is a model file or a directory; in a directory the newest {@code *.json} /
 * {@code *.onnx} by modification time wins (ties: the greatest name). The model is loaded at
 * {@link #start} (which fails if it cannot be), then a daemon thread polls every {@code
 * pollInterval}:
 *
 * <ol>
 *   <li>a candidate whose size or modification time changed must look the same on two consecutive
 *       polls before it is read (a file still being written is left alone);
 *   <li>its content is hashed; the same bytes as the current model are not a new model;
 *   <li>it is loaded and checked against the spec's inputs exactly like {@link ModelLoader#load};
 *       if that fails, it is refused ({@link Listener#refused}, a WARN log) and the current model
 *       keeps scoring until a later, good file appears; a refused file is not retried until it
 *       changes;
 *   <li>otherwise {@link #current()} switches to it atomically; the replaced scorer is closed
 *       after a grace period of two poll intervals.
 * </ol>
 *
 * <p>Producers should write a new model under a temporary name that the watcher ignores (e.g.
 * {@code model.json.tmp}, or a dot-file) and rename it into place atomically ({@code mv} on the
 * same file system); the stability check is a safety net, not a protocol.
 *
 * <p>Callers call {@link #current()} for each score (a volatile read) and do not keep the
 * returned scorer beyond one poll interval; that is what makes the grace period safe.
 */
public final class ModelWatcher implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(ModelWatcher.class);

  /** What the watcher did; called on its polling thread. */
  public interface Listener {
    /** {@code to} replaced {@code from} as the current model. */
    default void swapped(ModelInfo from, ModelInfo to) {}

    /** {@code file} was not loaded; the current model keeps scoring. */
    default void refused(Path file, ModelException why) {}

    Listener NONE = new Listener() {};
  }

  /**
   * A file as seen by one poll: with its identity (the inode, where the file system has one) and
   * the modification time to the nanosecond, because a model renamed into place within the same
   * millisecond and of the same size (a retrained model often is) must still count as changed.
   */
  private record Seen(Path file, long size, long modified, Object key) {}

  private final Path location;
  private final String name;
  private final List<String> expectedInputs;
  private final Duration pollInterval;
  private final Listener listener;
  private final ScheduledExecutorService poller;
  private final AtomicLong swaps = new AtomicLong();
  private final AtomicLong refusals = new AtomicLong();
  private final AtomicLong polls = new AtomicLong();

  private volatile Scorer current;
  // Poller thread only:
  private Seen loaded; // the file state the current model came from
  private String loadedHash;
  private Seen pending; // seen once, waiting to look the same on the next poll
  private Seen refused; // refused as it is; not retried until it changes
  private volatile boolean closed;

  private ModelWatcher(
      Path location,
      String name,
      List<String> expectedInputs,
      Duration pollInterval,
      Listener listener,
      Scorer initial,
      Seen loaded,
      String loadedHash) {
    this.location = location;
    this.name = name;
    this.expectedInputs = expectedInputs == null ? List.of() : List.copyOf(expectedInputs);
    this.pollInterval = pollInterval;
    this.listener = listener;
    this.current = initial;
    this.loaded = loaded;
    this.loadedHash = loadedHash;
    this.poller =
        location == null
            ? null
            : Executors.newSingleThreadScheduledExecutor(
                r -> {
                  Thread t = new Thread(r, "vigil-model-watcher-" + name);
                  t.setDaemon(true);
                  return t;
                });
  }

  /**
   * Loads the model at {@code location} (a file, or the newest model file in a directory) and
   * starts watching it.
   *
   * @throws ModelException there is no model there, or it cannot be loaded
   */
  public static ModelWatcher start(
      Path location,
      String name,
      List<String> expectedInputs,
      Duration pollInterval,
      Listener listener)
      throws ModelException {
    Objects.requireNonNull(location, "location");
    if (pollInterval.isNegative() || pollInterval.isZero()) {
      throw new IllegalArgumentException("pollInterval must be positive, got " + pollInterval);
    }
    Seen seen = candidate(location);
    if (seen == null) {
      throw new ModelException(
          location,
          Files.isDirectory(location)
              ? "the directory holds no *.json or *.onnx model file; put the model there first"
              : "the file does not exist; check the path (and the mount)");
    }
    byte[] bytes = ModelLoader.read(seen.file());
    Scorer initial = ModelLoader.load(seen.file(), bytes, name, expectedInputs);
    ModelWatcher watcher =
        new ModelWatcher(
            location,
            name,
            expectedInputs,
            pollInterval,
            listener == null ? Listener.NONE : listener,
            initial,
            seen,
            ModelLoader.sha256Hex(bytes));
    LOG.info(
        "Model {} loaded from {}; watching {} every {}",
        initial.info().version(),
        seen.file(),
        location,
        pollInterval);
    long millis = Math.max(1, pollInterval.toMillis());
    watcher.poller.scheduleWithFixedDelay(watcher::pollSafely, millis, millis, TimeUnit.MILLISECONDS);
    return watcher;
  }

  /** A watcher that never changes its scorer (tests, bootstrap, a model baked into the job). */
  public static ModelWatcher fixed(Scorer scorer) {
    Objects.requireNonNull(scorer, "scorer");
    return new ModelWatcher(null, scorer.info().name(), scorer.info().inputs(), null, Listener.NONE, scorer, null, null);
  }

  /** The model to score with now. */
  public Scorer current() {
    return current;
  }

  /** How many times a new model replaced the current one. */
  public long swaps() {
    return swaps.get();
  }

  /** How many new model files were refused. */
  public long refusals() {
    return refusals.get();
  }

  /** How many polls have completed (tests wait on it). */
  long polls() {
    return polls.get();
  }

  /** Stops polling and closes the current scorer (and any replaced one still in its grace period). */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (poller != null) {
      // Pending delayed closes of replaced scorers run now rather than never.
      for (Runnable task : poller.shutdownNow()) {
        if (task instanceof java.util.concurrent.RunnableScheduledFuture<?> f && f.isPeriodic()) {
          continue;
        }
        task.run();
      }
      try {
        poller.awaitTermination(pollInterval.toMillis() + 1000, TimeUnit.MILLISECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    current.close();
  }

  private void pollSafely() {
    try {
      poll();
      polls.incrementAndGet();
    } catch (RuntimeException | Error e) {
      // Never let the periodic task die: a later poll may succeed.
      LOG.warn("Model watcher for {} failed to poll {}: {}", name, location, e.toString(), e);
    }
  }

  private void poll() {
    if (closed) {
      return;
    }
    Seen seen;
    try {
      seen = candidate(location);
    } catch (ModelException e) {
      return; // the directory is briefly unreadable (e.g. being remounted): try again next poll
    }
    if (seen == null || seen.equals(loaded) || seen.equals(refused)) {
      pending = null;
      return;
    }
    if (!seen.equals(pending)) {
      pending = seen; // changed since the last poll: may still be being written
      return;
    }
    pending = null;
    byte[] bytes;
    try {
      bytes = ModelLoader.read(seen.file());
    } catch (ModelException e) {
      refuse(seen, e);
      return;
    }
    String hash = ModelLoader.sha256Hex(bytes);
    if (hash.equals(loadedHash)) {
      loaded = seen; // touched or copied, same content: the same model
      return;
    }
    Scorer next;
    try {
      next = ModelLoader.load(seen.file(), bytes, name, expectedInputs);
    } catch (ModelException e) {
      refuse(seen, e);
      return;
    }
    Scorer previous = current;
    current = next;
    loaded = seen;
    loadedHash = hash;
    refused = null;
    LOG.info(
        "Model {} replaced {} (from {})", next.info().version(), previous.info().version(), seen.file());
    try {
      listener.swapped(previous.info(), next.info());
    } catch (RuntimeException e) {
      LOG.warn("Model watcher listener failed on a swap: {}", e.toString(), e);
    }
    // Counted after the listener ran, so whoever waits on the count sees what the listener saw.
    swaps.incrementAndGet();
    // A caller may still be scoring with the previous model: close it once no caller can hold it.
    poller.schedule(previous::close, 2 * pollInterval.toMillis(), TimeUnit.MILLISECONDS);
  }

  private void refuse(Seen seen, ModelException why) {
    refused = seen;
    LOG.warn("Model file refused, {} keeps scoring: {}", current.info().version(), why.getMessage());
    try {
      listener.refused(seen.file(), why);
    } catch (RuntimeException e) {
      LOG.warn("Model watcher listener failed on a refusal: {}", e.toString(), e);
    }
    refusals.incrementAndGet();
  }

  /** The file to load: {@code location} itself, or the newest model file in it; null if none. */
  private static Seen candidate(Path location) throws ModelException {
    if (!Files.isDirectory(location)) {
      return stat(location);
    }
    Seen best = null;
    try (DirectoryStream<Path> files = Files.newDirectoryStream(location)) {
      for (Path file : files) {
        String fileName = file.getFileName().toString();
        if (fileName.startsWith(".") || !ModelLoader.isModelFile(file)) {
          continue;
        }
        Seen seen = stat(file);
        if (seen == null) {
          continue;
        }
        if (best == null
            || seen.modified() > best.modified()
            || (seen.modified() == best.modified()
                && fileName.compareTo(best.file().getFileName().toString()) > 0)) {
          best = seen;
        }
      }
    } catch (IOException e) {
      throw new ModelException(location, "the directory cannot be listed (" + e + ")", e);
    }
    return best;
  }

  private static Seen stat(Path file) {
    try {
      BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
      if (!a.isRegularFile()) {
        return null;
      }
      return new Seen(file, a.size(), a.lastModifiedTime().to(TimeUnit.NANOSECONDS), a.fileKey());
    } catch (NoSuchFileException e) {
      return null;
    } catch (IOException e) {
      return null;
    }
  }
}
