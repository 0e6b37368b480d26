package dev.vigil.statetools;

import dev.vigil.transforms.engine.EntityEngine;
import dev.vigil.transforms.io.EventFiles;
import dev.vigil.transforms.offline.ExternalSort;
import dev.vigil.transforms.offline.Progress;
import dev.vigil.transforms.spec.CompiledSpec;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.avro.generic.IndexedRecord;

/**
 * The state of every key as of a cut-over, computed offline from history: the events with event
 * time before the cut-over, in event-time order (ties in file order), through the same {@link
 * EntityEngine}s the feature stages run — so the state is what a stream over the same events
 * would hold, and what the offline backfill's evaluator holds at the cut-over.
 *
 * <p>Also, per key, the transaction ids of the events in the last {@code dedupeHorizon} before the
 * cut-over (what a stage's {@code dedupe} state holds), so a producer retry that straddles the
 * cut-over is still caught by the job that starts from the savepoint.
 *
 * <p>Keys whose state can no longer change any value (an entity with windows only, the key's
 * newest event at least the entity's TTL plus its {@code as_of} lag before the cut-over, or an
 * {@code idle_ttl} that has passed) are dropped: the job's event-time expiry drops them by the same
 * rule, and a key starting afresh gives the same values.
 */
public final class HistoryStates {
  /** One entity's final states, keys in first-seen order. */
  /**
   * @param withinLag events of the entity's last {@code as_of} before the cut-over (0 without a
   *     lag): not applied to {@code states} but handed over, per key in {@code handedOver}, for
   *     the stage to apply once no reader after the cut-over can need the state without them
   */
  public record EntityStates(EntityEngine engine, Map<String, byte[]> states,
      Map<String, Map<String, Long>> ids, long withinLag,
      Map<String, List<IndexedRecord>> handedOver) {

    public EntityStates(EntityEngine engine, Map<String, byte[]> states,
        Map<String, Map<String, Long>> ids, long withinLag) {
      this(engine, states, ids, withinLag, Map.of());
    }
  }

  /**
   * @param events events before the cut-over, counted into the states
   * @param afterCutover events at or after the cut-over, skipped
   * @param late events late for at least one entity (they change no state)
   * @param expiredKeys keys dropped because their state had outlived the TTL at the cut-over
   * @param sorted whether the file was not in time order and was sorted first
   */
  public record Result(List<EntityStates> entities, long events, long afterCutover, long late,
      long expiredKeys, boolean sorted, double seconds) {
    public EntityStates of(String entity) {
      return entities.stream().filter(e -> e.engine().entity().equals(entity)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("no entity " + entity));
    }
  }

  private HistoryStates() {}

  /**
   * Which events of history count into one key's state, when the state to match is not at one
   * cut-over for all keys but where a running job left each key ({@code add-feature} on a job's
   * savepoint). With a cut, there is no cut-over: every event of the file is offered, and no key
   * is dropped for its TTL (the savepoint says which keys there are).
   */
  public interface KeyCut {
    boolean counts(String entity, String key, long eventTime, IndexedRecord event);
  }

  /** {@link #compute} with a per-key cut instead of a cut-over. */
  public static Result compute(CompiledSpec spec, List<EntityEngine> engines, Path input,
      KeyCut cut, PrintStream progressOut) throws StateToolException {
    try {
      Result r = ordered(spec, engines, input, Long.MAX_VALUE, 0, progressOut, cut);
      if (r == null) {
        r = sorted(spec, engines, input, Long.MAX_VALUE, 0, progressOut, SORT_RUN_SIZE, cut);
      }
      return r;
    } catch (EventFiles.BadInputException e) {
      throw new StateToolException(e.getMessage(), e);
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      throw new StateToolException(input + ": cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * @param engines the entities to compute (a subset of the spec's)
   * @param dedupeHorizonMillis ids of events in {@code [cutover − horizon, cutover)}; 0: none
   */
  public static Result compute(CompiledSpec spec, List<EntityEngine> engines, Path input,
      long cutoverMillis, long dedupeHorizonMillis, PrintStream progressOut)
      throws StateToolException {
    return compute(spec, engines, input, cutoverMillis, dedupeHorizonMillis, progressOut,
        SORT_RUN_SIZE);
  }

  /** {@link #compute} sorting an unordered file in runs of {@code runSize} events (tests). */
  static Result compute(CompiledSpec spec, List<EntityEngine> engines, Path input,
      long cutoverMillis, long dedupeHorizonMillis, PrintStream progressOut, int runSize)
      throws StateToolException {
    try {
      Result r = ordered(spec, engines, input, cutoverMillis, dedupeHorizonMillis, progressOut,
          null);
      if (r == null) {
        r = sorted(spec, engines, input, cutoverMillis, dedupeHorizonMillis, progressOut,
            runSize, null);
      }
      return r;
    } catch (EventFiles.BadInputException e) {
      throw new StateToolException(e.getMessage(), e);
    } catch (java.io.IOException | java.io.UncheckedIOException e) {
      throw new StateToolException(input + ": cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * One pass in file order; null as soon as an event before the cut-over is out of order. The
   * file is parsed on a second thread, in batches handed over in order, so parsing and the
   * engines run side by side (parsing JSON costs about as much as the engines).
   */
  private static Result ordered(CompiledSpec spec, List<EntityEngine> engines, Path input,
      long cutover, long horizon, PrintStream progressOut, KeyCut cut)
      throws EventFiles.BadInputException, java.io.IOException {
    Apply apply = new Apply(engines, spec, cutover, horizon, cut);
    Progress progress = new Progress(progressOut, "bootstrap: history", Files.size(input), 2000);
    long previous = Long.MIN_VALUE;
    long seen = 0;
    try (Parsed parsed = new Parsed(History.open(input, spec.schema()))) {
      Batch batch;
      while ((batch = parsed.next()) != null) {
        for (IndexedRecord e : batch.events) {
          progress.tick(++seen, batch.bytesRead);
          long t = apply.timeOf(e);
          if (t >= cutover) {
            apply.after++;
            previous = Math.max(previous, t);
            continue;
          }
          if (t < previous) {
            progressOut.printf("bootstrap: %s is not in event-time order (near event %,d);"
                + " sorting the events before the cut-over first (in runs on disk)%n", input, seen);
            return null;
          }
          previous = t;
          apply.accept(e, t);
        }
      }
    }
    return apply.result(false, progress.seconds());
  }

  private record Batch(List<IndexedRecord> events, long bytesRead) {}

  /** A reader thread parsing the file into batches, in order, a few batches ahead. */
  private static final class Parsed implements AutoCloseable {
    private static final Batch END = new Batch(List.of(), 0);
    private final java.util.concurrent.BlockingQueue<Batch> queue =
        new java.util.concurrent.ArrayBlockingQueue<>(16);
    private final EventFiles.Reader reader;
    private final Thread thread;
    private volatile Exception failure;
    private volatile boolean closed;

    Parsed(EventFiles.Reader reader) {
      this.reader = reader;
      this.thread = new Thread(this::run, "vigil-bootstrap-parse");
      thread.setDaemon(true);
      thread.start();
    }

    private void run() {
      try {
        while (!closed) {
          List<IndexedRecord> events = new ArrayList<>(2048);
          IndexedRecord e = null;
          while (events.size() < 2048 && (e = reader.next()) != null) {
            events.add(e);
          }
          if (!events.isEmpty()) {
            queue.put(new Batch(events, reader.bytesRead()));
          }
          if (e == null) {
            break;
          }
        }
      } catch (InterruptedException e) {
        return;
      } catch (Exception e) {
        failure = e;
      }
      try {
        queue.put(END);
      } catch (InterruptedException e) {
        // closing
      }
    }

    Batch next() throws EventFiles.BadInputException, java.io.IOException {
      Batch b;
      try {
        b = queue.take();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new java.io.InterruptedIOException("interrupted");
      }
      if (b == END) {
        queue.offer(END);
        Exception f = failure;
        if (f instanceof EventFiles.BadInputException bad) {
          throw bad;
        }
        if (f instanceof java.io.UncheckedIOException io) {
          throw io.getCause();
        }
        if (f != null) {
          throw new java.io.IOException(f.getMessage(), f);
        }
        return null;
      }
      return b;
    }

    @Override
    public void close() throws java.io.IOException {
      closed = true;
      thread.interrupt();
      try {
        thread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      reader.close();
    }
  }

  /** Events a sorted run holds in memory (the rest of the history waits on disk). */
  static final int SORT_RUN_SIZE = 1_000_000;

  /**
   * The events before the cut-over sorted externally ({@link ExternalSort}: runs of {@link
   * #SORT_RUN_SIZE} events in memory, spilled, merged; ties keep file order), then applied.
   */
  private static Result sorted(CompiledSpec spec, List<EntityEngine> engines, Path input,
      long cutover, long horizon, PrintStream progressOut, int runSize, KeyCut cut)
      throws EventFiles.BadInputException, java.io.IOException {
    Apply apply = new Apply(engines, spec, cutover, horizon, cut);
    Progress progress = new Progress(progressOut, "bootstrap: sorting", Files.size(input), 2000);
    try (ExternalSort sorted = ExternalSort.of(History.open(input, spec.schema()), spec.schema(),
        apply::timeOf, runSize, e -> apply.timeOf(e) < cutover, progress)) {
      apply.after = sorted.skipped();
      progressOut.printf(Locale.ROOT, "bootstrap: %,d events before the cut-over sorted in %d"
          + " run(s) of up to %,d%n", sorted.events(), sorted.runs(), runSize);
      Progress applying = new Progress(progressOut, "bootstrap: history", sorted.events(), 2000);
      long done = 0;
      for (IndexedRecord e; (e = sorted.next()) != null; ) {
        apply.accept(e, apply.timeOf(e));
        applying.tick(++done, done);
      }
      return apply.result(true, progress.seconds());
    }
  }

  /** The engines over the per-key maps. */
  private static final class Apply {
    final List<EntityEngine> engines;
    final List<Map<String, byte[]>> states = new ArrayList<>();
    final List<Map<String, Map<String, Long>>> ids = new ArrayList<>();
    final long cutover;
    final long horizon;
    final int idPos;
    /** The spec's first entity: the only stage that keeps dedupe ids. */
    final String dedupeEntity;
    /** Per engine its as_of lag, and how many events fell within it before the cut-over. */
    final long[] lags;
    final long[] withinLag;
    final List<Map<String, List<IndexedRecord>>> handedOver = new ArrayList<>();
    long events;
    long after;
    long late;

    /** Null: every event before the cut-over counts. */
    final KeyCut cut;

    Apply(List<EntityEngine> engines, CompiledSpec spec, long cutover, long horizon, KeyCut cut) {
      this.engines = engines;
      this.cut = cut;
      for (int i = 0; i < engines.size(); i++) {
        states.add(new LinkedHashMap<>());
        ids.add(new HashMap<>());
      }
      this.cutover = cutover;
      this.horizon = horizon;
      var id = spec.schema().getField(dev.vigil.transforms.flink.FeaturePipeline.ID_FIELD);
      this.idPos = id == null ? -1 : id.pos();
      this.dedupeEntity = spec.spec().activeEntities().get(0);
      this.lags = engines.stream()
          .mapToLong(en -> spec.spec().timingOf(en.entity()).asOfMillis()).toArray();
      this.withinLag = new long[engines.size()];
      for (int i = 0; i < engines.size(); i++) {
        handedOver.add(new LinkedHashMap<>());
      }
    }

    long timeOf(IndexedRecord e) {
      return engines.get(0).eventTimeOf(e);
    }

    void accept(IndexedRecord e, long t) {
      events++;
      boolean anyLate = false;
      boolean inHorizon = horizon > 0 && idPos >= 0 && t >= cutover - horizon;
      for (int i = 0; i < engines.size(); i++) {
        EntityEngine engine = engines.get(i);
        String key = engine.keyOf(e);
        if (key == null) {
          continue; // the stage passes events without a key through, statelessly
        }
        if (cut != null && !cut.counts(engine.entity(), key, t, e)) {
          continue;
        }
        Map<String, byte[]> m = states.get(i);
        if (lags[i] > 0 && t >= cutover - lags[i]) {
          // A read after the cut-over at t' − as_of must not see it yet when t' − as_of ≤ t:
          // the stage applies it, as it would in a stream, once the watermark is past t + as_of.
          withinLag[i]++;
          handedOver.get(i).computeIfAbsent(key, k -> new ArrayList<>()).add(e);
          if (inHorizon && engine.entity().equals(dedupeEntity)) {
            Object id = e.get(idPos);
            ids.get(i).computeIfAbsent(key, k -> new HashMap<>())
                .put(id == null ? "" : id.toString(), t);
          }
          continue;
        }
        EntityEngine.Result r = engine.apply(m.get(key), e);
        if (r.late()) {
          anyLate = true;
          continue; // the stage neither updates state nor remembers the id of a late event
        }
        m.put(key, r.newState());
        if (inHorizon && engine.entity().equals(dedupeEntity)) {
          Object id = e.get(idPos);
          ids.get(i).computeIfAbsent(key, k -> new HashMap<>())
              .put(id == null ? "" : id.toString(), t);
        }
      }
      if (anyLate) {
        late++;
      }
    }

    Result result(boolean sorted, double seconds) {
      List<EntityStates> out = new ArrayList<>();
      long expired = 0;
      for (int i = 0; i < engines.size(); i++) {
        EntityEngine engine = engines.get(i);
        Map<String, byte[]> m = states.get(i);
        if (engine.stateTtlMillis().isPresent() && cut == null) {
          // The job's own rule (FeatureStage): no read at or after the cut-over (as of the event
          // minus the lag) needs a state whose newest event is ttl + lag before it.
          long expiry = engine.stateTtlMillis().getAsLong() + lags[i];
          for (Iterator<Map.Entry<String, byte[]>> it = m.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, byte[]> entry = it.next();
            if (engine.newestMillis(entry.getValue()) <= cutover - expiry) {
              it.remove();
              ids.get(i).remove(entry.getKey());
              expired++;
            }
          }
        }
        out.add(new EntityStates(engine, m, ids.get(i), withinLag[i], handedOver.get(i)));
      }
      return new Result(List.copyOf(out), events, after, late, expired, sorted, seconds);
    }
  }
}
