package dev.vigil.transforms.engine;

import dev.vigil.transforms.spec.Aggregation;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.CompiledSpec.FieldRef;
import dev.vigil.transforms.spec.CompiledSpec.ValueKind;
import dev.vigil.transforms.spec.FeatureDef;
import java.io.Serializable;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import org.apache.avro.generic.IndexedRecord;

/**
 * Computes every feature of one entity (e.g. {@code card}) of a feature spec, one event at a time,
 * over a compact per-key state value. Plain Java: the streaming operator, the offline evaluator and
 * the savepoint bootstrap all call this class, which is what keeps training and serving equal.
 *
 * <p>Semantics ({@code docs/feature-spec.md}): for an event at {@code t}, a windowed feature
 * aggregates the key's events in {@code [floor_r(t − W), t)}; events at exactly {@code t} (the
 * event itself included) are not counted. To get that exactly, events at the newest timestamp wait
 * in a small <em>pending</em> list and are folded into the tiles only when a later timestamp
 * arrives.
 *
 * <p>State: one {@code byte[]} per key holding all the entity's features (layout below). Each call
 * decodes it, updates it, and encodes it once: one state read and one write per event in the Flink
 * operator. Per windowed feature the tiles (one aggregate per {@code r} of event time, sparse) are
 * split into the <em>open</em> tile (the newest, decoded and updated in place) and the
 * <em>closed</em> tiles, kept as encoded bytes oldest first: an event appends at most one closed
 * tile and eviction parses only the tiles it drops, so the closed tiles are copied, not parsed.
 * Count, distinct count and integer sum/mean keep a running total of the closed tiles (minus what
 * eviction drops), so their query is O(1); a distinct count's tiles are disjoint (a value sits in
 * the tile of its latest occurrence), which costs one scan of its closed hashes, no hashing, per
 * value new to the open tile. Min, max and float sums re-read the closed tiles
 * (at most {@code W/r}). Events out of order within the window take a slower path that decodes
 * every tile. Not thread-safe (reuses buffers): one instance per subtask.
 *
 * <pre>
 * state   = FORMAT newestTs:zigzag pendingCount:varint pending* hasLast:byte [newestTs-lastTs last*]
 *           section* (one per feature other than last/time_since_last, in spec order)
 * section = lifetime: hasOpen:byte [value]
 *         | windowed: closedCount:varint [base-firstIdx:zigzag lastIdx-firstIdx:varint totals*
 *                     closedBytes:varint (value (idxDelta:varint value)*)] hasOpen:byte
 *                     [base-openIdx:zigzag value]        (base = floor(newestTs / r))
 * value   = count: varint | sum, min, max: zigzag or float64 | mean: (zigzag or float64) varint
 *         | distinct_count: n:varint fixed64{n} (hashes; windowed: each in the tile of its latest
 *           occurrence, totals = the sizes' sum) | time_since_first: ms after tile start (varint)
 * pending = per distinct input, in spec order (features that read a field the same way share one):
 *           tagged, or a distinct count's 0 | 1 hash:fixed64
 * </pre>
 */
public final class EntityEngine implements Serializable {
  private static final long serialVersionUID = 2L;
  private static final int FORMAT = 3;

  /** What one event produced: the features as known just before it, and the state after it. */
  public record Result(Object[] values, byte[] newState, boolean late) {}

  /**
   * What {@link #applyInPlace} produced: the values, and the state after the event as the first
   * {@code length} bytes of {@code buffer}.
   */
  public record InPlace(Object[] values, byte[] buffer, int length, boolean late) {}

  /** Room a buffer of {@link #applyInPlace} gets beyond its state, so that it rarely regrows. */
  public static final int SLACK = 64;

  private final String entity;
  private final FeatureDef[] features;
  private final Aggregation[] aggs;
  private final int[] fieldPos;
  private final ValueKind[] kinds;
  private final boolean[] isDouble;
  /** Features with tiles or a running aggregate (all but last and time_since_last). */
  private final boolean[] sectioned;
  /**
   * Windowed count, distinct count and integer sum/mean: running totals of the closed tiles. A
   * windowed distinct count's tiles are disjoint (each value sits in the tile of its latest
   * occurrence, see {@link #addDistinct}), so its total is the sum of the tiles' sizes.
   */
  private final boolean[] invertible;
  /**
   * Per feature with a field, the first feature that reads the same field the same way (a distinct
   * count reads its hash): a pending event stores each such input once.
   */
  private final int[] inputOf;
  private final int keyPos;
  private final int timePos;
  /** Events older than the key's newest by more than this are late; MAX_VALUE: never. */
  private final long lateAfter;
  private final long ttl;
  /** A key idle this long starts afresh ({@code idle_ttl:}); 0: never. */
  private final long idleTtl;
  private transient Scratch scratch;
  /** See {@link #lastWasOutOfOrder}. */
  private transient boolean outOfOrder;

  private EntityEngine(CompiledSpec spec, String entity) {
    this.entity = entity;
    List<FeatureDef> defs = spec.spec().featuresOf(entity);
    if (defs.isEmpty()) {
      throw new IllegalArgumentException("entity '" + entity + "' has no features in the spec");
    }
    int n = defs.size();
    this.features = defs.toArray(new FeatureDef[0]);
    this.aggs = new Aggregation[n];
    this.fieldPos = new int[n];
    this.kinds = new ValueKind[n];
    this.isDouble = new boolean[n];
    this.sectioned = new boolean[n];
    this.invertible = new boolean[n];
    long longest = 0;
    long ttlMillis = 0;
    boolean lifetime = false;
    for (int i = 0; i < n; i++) {
      FeatureDef f = features[i];
      FieldRef ref = spec.featureField(f.name());
      aggs[i] = f.aggregation();
      fieldPos[i] = ref == null ? -1 : ref.position();
      kinds[i] = ref == null ? null : ref.kind();
      isDouble[i] = kinds[i] == ValueKind.DOUBLE;
      sectioned[i] = aggs[i] != Aggregation.LAST && aggs[i] != Aggregation.TIME_SINCE_LAST;
      invertible[i] = !f.lifetime() && (aggs[i] == Aggregation.COUNT
          || aggs[i] == Aggregation.DISTINCT_COUNT
          || ((aggs[i] == Aggregation.SUM || aggs[i] == Aggregation.MEAN) && !isDouble[i]));
      if (f.lifetime()) {
        lifetime = true;
      } else {
        longest = Math.max(longest, f.windowMillis());
        // After W + r without events every tile of the feature has been evicted.
        ttlMillis = Math.max(ttlMillis, f.windowMillis() + f.resolutionMillis());
      }
    }
    this.inputOf = new int[n];
    for (int i = 0; i < n; i++) {
      inputOf[i] = -1;
      for (int j = 0; j <= i && fieldPos[i] >= 0; j++) {
        if (fieldPos[j] == fieldPos[i]
            && (aggs[j] == Aggregation.DISTINCT_COUNT) == (aggs[i] == Aggregation.DISTINCT_COUNT)) {
          inputOf[i] = j;
          break;
        }
      }
    }
    this.keyPos = spec.entityKey(entity).position();
    this.timePos = spec.eventTime().position();
    this.lateAfter = lifetime ? Long.MAX_VALUE : longest;
    this.idleTtl = spec.spec().timingOf(entity).idleTtlMillis();
    long useful = lifetime ? -1 : ttlMillis;
    this.ttl = idleTtl == 0 ? useful : useful < 0 ? idleTtl : Math.min(useful, idleTtl);
  }

  /**
   * Whether a key whose newest event is at {@code newest} is read or moved on at {@code t} as a
   * new key: its idle TTL has passed. Then its state is as good as null.
   */
  private boolean idleExpired(long newest, long t) {
    return idleTtl > 0 && newest != Long.MIN_VALUE && t - newest >= idleTtl;
  }

  /** The engine for {@code entity}'s features of {@code spec}. */
  public static EntityEngine forEntity(CompiledSpec spec, String entity) {
    return new EntityEngine(spec, entity);
  }

  /** The entity's name in the spec, e.g. {@code card}. */
  public String entity() {
    return entity;
  }

  /** The entity's feature names, in spec order; {@link Result#values()} follows this order. */
  public List<String> featureNames() {
    return Arrays.stream(features).map(FeatureDef::name).toList();
  }

  /** The entity's feature definitions, in spec order. */
  public List<FeatureDef> features() {
    return List.of(features);
  }

  /** The entity key of {@code event} (e.g. its card_id), or null when missing or empty. */
  public String keyOf(IndexedRecord event) {
    Object v = event.get(keyPos);
    if (v == null) {
      return null;
    }
    String key = v.toString();
    return key.isEmpty() ? null : key;
  }

  /** The event time of {@code event}, epoch millis. */
  public long eventTimeOf(IndexedRecord event) {
    Object v = event.get(timePos);
    if (v instanceof Instant i) {
      return i.toEpochMilli();
    }
    return ((Number) v).longValue();
  }

  /** Events older than a key's newest by more than this many ms are late (MAX_VALUE: never). */
  public long lateAfterMillis() {
    return lateAfter;
  }

  /**
   * Values as of just before {@code event} and the key's state after it. {@code state} is null for
   * a key never seen. A late event (older than the newest seen for the key by more than the longest
   * window) leaves the state unchanged, has null values and {@code late = true}.
   */
  public Result apply(byte[] state, IndexedRecord event) {
    if (idleTtl > 0 && idleExpired(newestMillis(state), eventTimeOf(event))) {
      state = null;
    }
    State s = decode(state, state == null ? 0 : state.length);
    Object[] values = step(s, event);
    if (values == null) {
      return new Result(new Object[features.length], state, true);
    }
    return new Result(values, encode(s), false);
  }

  /**
   * {@link #apply} over a state held in the first {@code length} bytes of {@code buffer} (null for
   * a new key), for a caller that keeps states in buffers with room to spare, like the stage's
   * cache: when {@code owned} (no one else holds the buffer) and the new state fits, it is written
   * over the old one and the same buffer comes back; otherwise a new buffer with {@link #SLACK}
   * bytes to spare. Saves allocating and filling a new array per event: at 10,000 keys, memory the
   * CPU has not seen yet, where the buffer it just read is in its cache.
   */
  public InPlace applyInPlace(byte[] buffer, int length, boolean owned, IndexedRecord event) {
    boolean fresh = idleTtl > 0 && buffer != null
        && idleExpired(newestMillis(buffer), eventTimeOf(event));
    State s = fresh ? decode(null, 0) : decode(buffer, length); // fresh: a new key
    Object[] values = step(s, event);
    if (values == null) {
      return new InPlace(new Object[features.length], buffer, length, true);
    }
    Bytes.Writer w = encodeInto(s);
    int size = w.size();
    byte[] out = owned && buffer.length >= size ? buffer : new byte[size + SLACK];
    // Closed tiles were read from the old buffer, but they are all in w by now.
    System.arraycopy(w.array(), 0, out, 0, size);
    return new InPlace(values, out, size, false);
  }

  /**
   * Whether the event of the last {@link #apply} or {@link #applyInPlace} was older than its key's
   * newest: its values were read from a state that already held later events.
   */
  public boolean lastWasOutOfOrder() {
    return outOfOrder;
  }

  /** Moves {@code s} on by {@code event}: the values before it, or null for a late event. */
  private Object[] step(State s, IndexedRecord event) {
    long t = eventTimeOf(event);
    outOfOrder = s.any && t < s.newestTs;
    Object[] values;
    if (!s.any) {
      values = query(s, t);
      s.any = true;
      s.newestTs = t;
      s.pending.add(inputs(event));
    } else if (t > s.newestTs) {
      fold(s);
      s.newestTs = t;
      evict(s, t);
      values = query(s, t);
      s.pending.add(inputs(event));
    } else if (t == s.newestTs) {
      values = query(s, t);
      s.pending.add(inputs(event));
    } else {
      if (lateAfter != Long.MAX_VALUE && s.newestTs - t > lateAfter) {
        return null;
      }
      // Out of order within the window: best-effort values, and the event still counts later.
      values = query(s, t);
      add(s, t, inputs(event));
    }
    return values;
  }

  /** Values as of {@code asOfMillis} without an event (inspection, savepoint verification). */
  public Object[] valuesAt(byte[] state, long asOfMillis) {
    if (idleTtl > 0 && idleExpired(newestMillis(state), asOfMillis)) {
      state = null;
    }
    State s = decode(state);
    if (s.any && s.newestTs < asOfMillis) {
      fold(s);
      evict(s, asOfMillis);
    }
    return query(s, asOfMillis);
  }

  /**
   * How long an idle key's state is useful: the longest window plus its tail, or the entity's idle
   * TTL when shorter; empty with a lifetime feature and no idle TTL. Read at or after its newest
   * event plus this, a key's state gives the values of a new key ({@link #apply}, {@link
   * #valuesAt}), so the stage may drop it then.
   */
  public OptionalLong stateTtlMillis() {
    return ttl < 0 ? OptionalLong.empty() : OptionalLong.of(ttl);
  }

  /** Number of tiles a feature holds in {@code state}, for tests of eviction. */
  public int tileCount(byte[] state, String feature) {
    State s = decode(state);
    int i = indexOf(feature);
    if (!sectioned[i]) {
      return 0;
    }
    Section sec = s.sections[i];
    return sec.full != null ? sec.full.n : sec.closed + sec.open.n;
  }

  /** A readable view of {@code state}, for tests, debugging and state inspection tools. */
  public EngineState describe(byte[] state) {
    State s = decode(state);
    Map<String, List<EngineState.Tile>> tiles = new LinkedHashMap<>();
    Map<String, Object> lastValues = new LinkedHashMap<>();
    for (int i = 0; i < features.length; i++) {
      FeatureDef f = features[i];
      if (aggs[i] == Aggregation.LAST) {
        lastValues.put(f.name(), s.lastValues[i]);
      }
      if (!sectioned[i]) {
        continue;
      }
      Tiles t = materialize(s, i);
      List<EngineState.Tile> list = new ArrayList<>();
      for (int k = 0; k < t.n; k++) {
        long from = f.lifetime() ? Long.MIN_VALUE : t.idx[k] * f.resolutionMillis();
        list.add(new EngineState.Tile(from, tileValue(t, k, i)));
      }
      tiles.put(f.name(), List.copyOf(list));
    }
    return new EngineState(entity, s.any ? s.newestTs : null, s.pending.size(),
        s.hasLast ? s.lastTs : null, lastValues, tiles, state == null ? 0 : state.length);
  }

  /**
   * The newest event time in {@code state} without decoding it ({@link Long#MIN_VALUE} for null):
   * for the savepoint tools, which drop keys whose state has outlived its TTL at a cut-over.
   */
  public long newestMillis(byte[] state) {
    if (state == null) {
      return Long.MIN_VALUE;
    }
    Bytes.Reader r = new Bytes.Reader(state);
    checkFormat(r.byte1());
    return r.zigzag();
  }

  /**
   * The bytes that belong to {@code feature} alone in {@code state}, in layout order: its inputs of
   * each pending event, its last value ({@code last}), its section (features with tiles or a
   * running aggregate). {@code time_since_last} owns none (it reads the shared latest-event time).
   * Two states hold the same data for a feature exactly when these bytes and {@link
   * #newestMillis} are equal: what {@code state add-feature} proves for carried-over features.
   */
  public byte[] featureBytes(byte[] state, String feature) {
    int i = indexOf(feature);
    if (state == null) {
      return new byte[0];
    }
    Layout l = layout(state);
    Bytes.Writer w = new Bytes.Writer();
    if (fieldPos[i] >= 0) {
      for (Object[] inputs : l.pending) {
        writeInput(w, i, inputs[i]);
      }
    }
    if (aggs[i] == Aggregation.LAST && l.hasLast) {
      w.tagged(l.lastValues[i]);
    }
    if (sectioned[i]) {
      w.bytes(state, l.sectionStart[i], l.sectionEnd[i] - l.sectionStart[i]);
    }
    return w.toArray();
  }

  /**
   * A state under this engine (a spec that gained features) built from two states of one key at
   * the same point in its history: every feature of {@code old}'s engine {@code from} is carried
   * over byte for byte (its section, pending inputs and last value), every other feature comes from
   * {@code fresh}, a state computed by this engine from history. Both must have reached the same
   * newest event (same newest time, same pending events, same latest folded event), which holds
   * when {@code fresh} was computed from the events before the savepoint's cut-over.
   *
   * @param from the engine that wrote {@code old}: its features must be in this engine, unchanged
   * @param old the carried state (null: the key is new to the old state, {@code fresh} is returned)
   * @param fresh this engine's state from history (null: the new features saw no event of the key)
   * @throws IllegalArgumentException when a feature of {@code from} is missing here or changed, or
   *     the two states are not at the same point (the message says what differs)
   */
  public byte[] carryOver(EntityEngine from, byte[] old, byte[] fresh) {
    int[] source = new int[features.length];
    Arrays.fill(source, -1);
    for (int j = 0; j < from.features.length; j++) {
      FeatureDef f = from.features[j];
      int i = -1;
      for (int k = 0; k < features.length; k++) {
        if (features[k].name().equals(f.name())) {
          i = k;
        }
      }
      if (i < 0) {
        throw new IllegalArgumentException("feature '" + f.name() + "' of the old state is not in"
            + " the new spec of entity '" + entity + "'");
      }
      if (!features[i].equals(f)) {
        throw new IllegalArgumentException("feature '" + f.name() + "' changed: " + f + " in the"
            + " old state, " + features[i] + " in the new spec");
      }
      source[i] = j;
    }
    if (old == null) {
      return fresh;
    }
    Layout lo = from.layout(old);
    Layout lf = fresh == null ? null : layout(fresh);
    if (lf != null) {
      if (lo.newestTs != lf.newestTs || lo.pending.size() != lf.pending.size()
          || lo.hasLast != lf.hasLast || (lo.hasLast && lo.lastTs != lf.lastTs)) {
        throw new IllegalArgumentException("the old state and the history are not at the same"
            + " point: newest event " + Instant.ofEpochMilli(lo.newestTs) + " (" + lo.pending.size()
            + " pending) in the old state, " + Instant.ofEpochMilli(lf.newestTs) + " ("
            + lf.pending.size() + " pending) from history");
      }
    }
    Bytes.Writer w = new Bytes.Writer();
    w.byte1(FORMAT);
    w.zigzag(lo.newestTs);
    w.varlong(lo.pending.size());
    for (int p = 0; p < lo.pending.size(); p++) {
      for (int i = 0; i < features.length; i++) {
        if (inputOf[i] == i) {
          writeInput(w, i, source[i] >= 0 ? lo.pending.get(p)[source[i]]
              : lf == null ? null : lf.pending.get(p)[i]);
        }
      }
    }
    w.byte1(lo.hasLast ? 1 : 0);
    if (lo.hasLast) {
      w.zigzag(lo.newestTs - lo.lastTs);
      for (int i = 0; i < features.length; i++) {
        if (aggs[i] == Aggregation.LAST) {
          w.tagged(source[i] >= 0 ? lo.lastValues[source[i]]
              : lf == null ? null : lf.lastValues[i]);
        }
      }
    }
    for (int i = 0; i < features.length; i++) {
      if (!sectioned[i]) {
        continue;
      }
      if (source[i] >= 0) {
        int j = source[i];
        w.bytes(old, lo.sectionStart[j], lo.sectionEnd[j] - lo.sectionStart[j]);
      } else if (lf != null) {
        w.bytes(fresh, lf.sectionStart[i], lf.sectionEnd[i] - lf.sectionStart[i]);
      } else if (features[i].lifetime()) {
        w.byte1(0); // no aggregate yet
      } else {
        w.varlong(0); // no closed tiles
        w.byte1(0); // no open tile
      }
    }
    return w.toArray();
  }

  /** Where each part of an encoded state lies (sections as byte ranges, not decoded). */
  private static final class Layout {
    long newestTs;
    final List<Object[]> pending = new ArrayList<>();
    boolean hasLast;
    long lastTs;
    Object[] lastValues;
    int[] sectionStart;
    int[] sectionEnd;
  }

  private void checkFormat(int format) {
    if (format != FORMAT) {
      throw new IllegalStateException("feature state of entity '" + entity + "' has format "
          + format + ", this engine reads " + FORMAT + ": rebuild the state with `vigil features"
          + " backfill`/bootstrap, or run the engine version that wrote it");
    }
  }

  private Layout layout(byte[] bytes) {
    Layout l = new Layout();
    Bytes.Reader r = new Bytes.Reader(bytes);
    checkFormat(r.byte1());
    l.newestTs = r.zigzag();
    int pending = (int) r.varlong();
    for (int p = 0; p < pending; p++) {
      Object[] inputs = readInputs(r);
      l.pending.add(inputs);
    }
    l.lastValues = new Object[features.length];
    l.hasLast = r.byte1() == 1;
    if (l.hasLast) {
      l.lastTs = l.newestTs - r.zigzag();
      for (int i = 0; i < features.length; i++) {
        if (aggs[i] == Aggregation.LAST) {
          l.lastValues[i] = r.tagged();
        }
      }
    }
    l.sectionStart = new int[features.length];
    l.sectionEnd = new int[features.length];
    Tiles skip = new Tiles(1);
    for (int i = 0; i < features.length; i++) {
      if (!sectioned[i]) {
        continue;
      }
      l.sectionStart[i] = r.pos();
      if (features[i].lifetime()) {
        if (r.byte1() == 1) {
          openTile(skip, 0, i);
          readValue(r, skip, 0, i, l.newestTs);
        }
      } else {
        int closed = (int) r.varlong();
        if (closed > 0) {
          r.zigzag();
          r.varlong();
          if (invertible[i]) {
            r.varlong(); // count: varlong; sum/mean: zigzag (same width to skip)
            if (aggs[i] == Aggregation.MEAN) {
              r.varlong();
            }
          }
          r.skip((int) r.varlong());
        }
        if (r.byte1() == 1) {
          r.zigzag();
          openTile(skip, 0, i);
          readValue(r, skip, 0, i, l.newestTs);
        }
      }
      l.sectionEnd[i] = r.pos();
    }
    return l;
  }

  private int indexOf(String feature) {
    for (int i = 0; i < features.length; i++) {
      if (features[i].name().equals(feature)) {
        return i;
      }
    }
    throw new IllegalArgumentException("no feature " + feature + " in entity " + entity);
  }

  // ------------------------------------------------------------------------------------------

  private Object[] inputs(IndexedRecord event) {
    Object[] in = new Object[features.length];
    for (int i = 0; i < features.length; i++) {
      if (inputOf[i] >= 0 && inputOf[i] < i) {
        in[i] = in[inputOf[i]];
      } else if (fieldPos[i] >= 0) {
        Object v = normalize(event.get(fieldPos[i]), kinds[i]);
        // A distinct count keeps only the value's hash, also while the event is pending.
        in[i] = v != null && aggs[i] == Aggregation.DISTINCT_COUNT ? (Object) Bytes.hash(v) : v;
      }
    }
    return in;
  }

  /** A pending event's input of feature {@code i}: tagged, a distinct count's hash as fixed64. */
  private void writeInput(Bytes.Writer w, int i, Object v) {
    if (aggs[i] != Aggregation.DISTINCT_COUNT) {
      w.tagged(v);
    } else if (v == null) {
      w.byte1(0);
    } else {
      w.byte1(1);
      w.fixed64((Long) v);
    }
  }

  /** One pending event's inputs, shared ones read once. */
  private Object[] readInputs(Bytes.Reader r) {
    Object[] inputs = new Object[features.length];
    for (int i = 0; i < features.length; i++) {
      if (inputOf[i] == i) {
        inputs[i] = readInput(r, i);
      } else if (inputOf[i] >= 0) {
        inputs[i] = inputs[inputOf[i]];
      }
    }
    return inputs;
  }

  private Object readInput(Bytes.Reader r, int i) {
    if (aggs[i] != Aggregation.DISTINCT_COUNT) {
      return r.tagged();
    }
    return r.byte1() == 0 ? null : (Object) r.fixed64();
  }

  private static Object normalize(Object v, ValueKind kind) {
    if (v == null) {
      return null;
    }
    return switch (kind) {
      case LONG -> v instanceof Instant i ? i.toEpochMilli() : ((Number) v).longValue();
      case DOUBLE -> ((Number) v).doubleValue();
      case STRING -> v.toString();
      case BOOLEAN -> (Boolean) v;
    };
  }

  /** Folds the pending events (all at newestTs) into the tiles and the latest-event fields. */
  private void fold(State s) {
    for (Object[] inputs : s.pending) {
      add(s, s.newestTs, inputs);
    }
    s.pending.clear();
  }

  private void add(State s, long ts, Object[] inputs) {
    if (!s.hasLast || ts > s.lastTs) {
      s.hasLast = true;
      s.lastTs = ts;
      for (int i = 0; i < features.length; i++) {
        if (aggs[i] == Aggregation.LAST) {
          s.lastValues[i] = inputs[i];
        }
      }
    } else if (ts == s.lastTs) {
      // Ties in a millisecond: the greatest value, so that the order the events came in does not
      // matter (an arrival order is not the same offline, online, or at another partitioning).
      for (int i = 0; i < features.length; i++) {
        if (aggs[i] == Aggregation.LAST && greater(inputs[i], s.lastValues[i])) {
          s.lastValues[i] = inputs[i];
        }
      }
    }
    for (int i = 0; i < features.length; i++) {
      if (!sectioned[i]) {
        continue;
      }
      FeatureDef f = features[i];
      Object in = inputs[i];
      if (aggs[i].readsField() && in == null) {
        continue; // nulls are skipped
      }
      Section sec = s.sections[i];
      long idx = 0;
      if (!f.lifetime()) {
        idx = Math.floorDiv(ts, f.resolutionMillis());
        if (idx < Math.floorDiv(s.newestTs - f.windowMillis(), f.resolutionMillis())) {
          continue; // an out-of-order event already outside this feature's window
        }
        if (sec.full == null && sec.open.n == 1 && idx < sec.open.idx[0]) {
          sec.full = materialize(s, i); // out of order, into a closed tile: the slow path
        }
      }
      if (sec.full != null) {
        int k = sec.full.findOrInsert(idx, aggs[i]);
        if (invertible[i] && aggs[i] == Aggregation.DISTINCT_COUNT) {
          addDistinct(sec.full, k, (Long) in);
        } else {
          update(sec.full, k, i, in, ts);
        }
        continue;
      }
      if (sec.open.n == 1 && idx != sec.open.idx[0]) {
        closeOpen(s, i);
      }
      int k = sec.open.n == 0 ? sec.open.findOrInsert(idx, aggs[i]) : 0;
      if (invertible[i] && aggs[i] == Aggregation.DISTINCT_COUNT) {
        // New to the open tile: its older occurrence, if any, leaves the closed tile it was in.
        long h = (Long) in;
        if (sec.open.sets[k].add(h) && sec.closed > 0) {
          removeFromClosed(s, sec, h);
        }
      } else {
        update(sec.open, k, i, in, ts);
      }
    }
  }

  /** The total order of {@code last}'s tie-break: null first, then by value. */
  @SuppressWarnings({"unchecked", "rawtypes"})
  static boolean greater(Object a, Object b) {
    if (a == null) {
      return false;
    }
    if (b == null) {
      return true;
    }
    if (a instanceof Number x && b instanceof Number y && !(a.getClass().equals(b.getClass()))) {
      return Double.compare(x.doubleValue(), y.doubleValue()) > 0;
    }
    if (a instanceof Comparable c && a.getClass().equals(b.getClass())) {
      return c.compareTo(b) > 0;
    }
    return a.toString().compareTo(b.toString()) > 0;
  }

  private void update(Tiles tiles, int k, int i, Object in, long ts) {
    Aggregation agg = aggs[i];
    switch (agg) {
      case COUNT -> tiles.a[k]++;
      case SUM -> {
        if (in instanceof Long l) {
          tiles.a[k] += l;
        } else {
          tiles.d[k] += (Double) in;
        }
      }
      case MEAN -> {
        if (in instanceof Long l) {
          tiles.a[k] += l;
        } else {
          tiles.d[k] += (Double) in;
        }
        tiles.c[k]++;
      }
      case MIN, MAX -> {
        boolean fresh = tiles.c[k] == 0;
        tiles.c[k] = 1;
        boolean max = agg == Aggregation.MAX;
        if (in instanceof Long l) {
          if (fresh || (max ? l > tiles.a[k] : l < tiles.a[k])) {
            tiles.a[k] = l;
          }
        } else {
          double d = (Double) in;
          if (fresh || (max ? d > tiles.d[k] : d < tiles.d[k])) {
            tiles.d[k] = d;
          }
        }
      }
      case DISTINCT_COUNT -> tiles.sets[k].add((Long) in); // a lifetime distinct count's one set
      case TIME_SINCE_FIRST -> {
        if (tiles.c[k] == 0 || ts < tiles.a[k]) {
          tiles.a[k] = ts;
        }
        tiles.c[k] = 1;
      }
      default -> throw new IllegalStateException(agg.name());
    }
  }

  /** Appends the open tile to the closed ones (a later tile is opening). */
  private void closeOpen(State s, int i) {
    Section sec = s.sections[i];
    Bytes.Writer w = sec.own();
    if (sec.closed == 0) {
      sec.firstIdx = sec.open.idx[0];
    }
    writeClosed(w, i, sec.closed == 0, sec.open.idx[0] - sec.lastIdx, sec.open, 0, s.newestTs);
    sec.buf = w.array();
    sec.end = w.size();
    sec.lastIdx = sec.open.idx[0];
    sec.closed++;
    if (invertible[i]) {
      sec.ta += tileTotal(sec.open, 0, i);
      sec.tc += sec.open.c[0];
    }
    sec.open.n = 0;
  }

  /**
   * Appends one closed tile: its index delta from the previous tile (none for the first), then its
   * value. A windowed count folds the two into one varint, {@code count << 1 | 1 if the delta is
   * not 1}, then the delta only then: a daily count's tile is one byte instead of two, and it is
   * the state's bulk (a 365-day count has up to 366 tiles).
   */
  private void writeClosed(Bytes.Writer w, int i, boolean first, long delta, Tiles t, int k,
      long newestTs) {
    if (aggs[i] == Aggregation.COUNT) {
      if (first || delta == 1) {
        w.varlong(t.a[k] << 1);
      } else {
        w.varlong(t.a[k] << 1 | 1);
        w.varlong(delta);
      }
      return;
    }
    if (!first) {
      w.varlong(delta);
    }
    writeValue(w, t, k, i, newestTs);
  }

  /**
   * The index delta of the closed tile at {@code r}, after the first was dropped. For a count the
   * delta is inside the tile's entry, which stays in place as the new first (its delta then
   * unused); otherwise it precedes the value and is consumed.
   */
  private long nextDelta(Bytes.Reader r, int i) {
    if (aggs[i] != Aggregation.COUNT) {
      return r.varlong();
    }
    int at = r.pos();
    long delta = countDelta(r, r.varlong());
    r.skip(at - r.pos());
    return delta;
  }

  /** The index delta of a count's closed tile whose first varint was {@code v} (see writeClosed). */
  private static long countDelta(Bytes.Reader r, long v) {
    return (v & 1) == 0 ? 1 : r.varlong();
  }

  /** A tile's part of a running total: its count or sum, or a distinct count's set size. */
  private long tileTotal(Tiles t, int k, int i) {
    return aggs[i] == Aggregation.DISTINCT_COUNT ? t.sets[k].size() : t.a[k];
  }

  /**
   * Takes hash {@code h} out of the closed tile holding it, if one does (at most one: the tiles are
   * disjoint), dropping the tile if it empties. A value seen again moves to its newest tile, so
   * the closed tiles' sizes add up to their distinct count and evicting a tile drops exactly the
   * values last seen in it. The scan is the closed tiles' bytes; the rewrite happens only on a hit.
   */
  private void removeFromClosed(State s, Section sec, long h) {
    Bytes.Reader r = new Bytes.Reader(sec.buf, sec.off);
    int hit = -1;
    for (int k = 0; k < sec.closed && hit < 0; k++) {
      if (k > 0) {
        r.varlong();
      }
      int n = (int) r.varlong();
      for (int j = 0; j < n; j++) {
        if (r.fixed64() == h) {
          hit = k;
          r.skip(8 * (n - j - 1));
          break;
        }
      }
    }
    if (hit < 0) {
      return;
    }
    Bytes.Writer w = s.rebuilt;
    w.reset();
    r = new Bytes.Reader(sec.buf, sec.off);
    long idx = sec.firstIdx;
    int kept = 0;
    long first = 0;
    long prev = 0;
    for (int k = 0; k < sec.closed; k++) {
      if (k > 0) {
        idx += r.varlong();
      }
      int n = (int) r.varlong();
      int m = k == hit ? n - 1 : n;
      if (m == 0) {
        r.skip(8 * n);
        continue;
      }
      if (kept > 0) {
        w.varlong(idx - prev);
      } else {
        first = idx;
      }
      w.varlong(m);
      if (k == hit) {
        for (int j = 0; j < n; j++) {
          long v = r.fixed64();
          if (v != h) {
            w.fixed64(v);
          }
        }
      } else {
        w.bytes(sec.buf, r.pos(), 8 * n);
        r.skip(8 * n);
      }
      prev = idx;
      kept++;
    }
    sec.closed = kept;
    sec.firstIdx = first;
    sec.lastIdx = prev;
    sec.ta--;
    sec.buf = w.array();
    sec.off = 0;
    sec.end = w.size();
    sec.owned = false;
    sec.own(); // a copy the section owns: the rebuilt buffer is reused
  }

  /**
   * Adds hash {@code h} to tile {@code k} of a distinct count's decoded tiles (the slow path),
   * keeping them disjoint: a newer tile holding it wins, an older one gives it up.
   */
  private static void addDistinct(Tiles tiles, int k, long h) {
    for (int j = tiles.n - 1; j >= 0; j--) {
      if (j != k && tiles.sets[j].contains(h)) {
        if (j > k) {
          return;
        }
        tiles.sets[j].remove(h);
      }
    }
    tiles.sets[k].add(h);
  }

  private void evict(State s, long t) {
    for (int i = 0; i < features.length; i++) {
      FeatureDef f = features[i];
      if (!sectioned[i] || f.lifetime()) {
        continue;
      }
      long lo = Math.floorDiv(t - f.windowMillis(), f.resolutionMillis());
      Section sec = s.sections[i];
      if (sec.full != null) {
        sec.full.dropBelow(lo);
        continue;
      }
      if (sec.closed > 0 && sec.firstIdx < lo) {
        Bytes.Reader r = new Bytes.Reader(sec.buf, sec.off);
        while (sec.closed > 0 && sec.firstIdx < lo) {
          dropValue(r, sec, i);
          sec.closed--;
          if (sec.closed > 0) {
            sec.firstIdx += nextDelta(r, i);
          }
        }
        sec.off = r.pos();
        if (sec.closed == 0) {
          sec.ta = 0;
          sec.tc = 0;
        }
      }
      if (sec.closed == 0 && sec.open.n == 1 && sec.open.idx[0] < lo) {
        sec.open.n = 0;
      }
    }
  }

  /** Reads past a closed tile's value, taking it out of the running totals. */
  private void dropValue(Bytes.Reader r, Section sec, int i) {
    Aggregation agg = aggs[i];
    if (agg == Aggregation.DISTINCT_COUNT) { // windowed, so disjoint tiles with a total
      int n = (int) r.varlong();
      sec.ta -= n;
      r.skip(8 * n);
      return;
    }
    if (agg == Aggregation.COUNT) {
      long v = r.varlong();
      countDelta(r, v); // the first tile's delta: unused
      sec.ta -= v >>> 1;
      return;
    }
    if (invertible[i]) {
      sec.ta -= r.zigzag();
      if (agg == Aggregation.MEAN) {
        sec.tc -= r.varlong();
      }
      return;
    }
    switch (agg) {
      case SUM, MIN, MAX, MEAN -> {
        if (isDouble[i]) {
          r.skip(8);
        } else {
          r.zigzag();
        }
        if (agg == Aggregation.MEAN) {
          r.varlong();
        }
      }
      case TIME_SINCE_FIRST -> r.varlong();
      default -> throw new IllegalStateException(agg.name());
    }
  }

  private Object[] query(State s, long t) {
    Object[] out = new Object[features.length];
    boolean inOrder = !s.any || t >= s.newestTs;
    for (int i = 0; i < features.length; i++) {
      if (!sectioned[i]) {
        out[i] = lastValue(s, i, t);
      } else if (inOrder && s.sections[i].full == null) {
        out[i] = inOrderValue(s, i, t);
      } else {
        Section sec = s.sections[i];
        if (sec.full == null) {
          sec.full = materialize(s, i);
        }
        out[i] = scanValue(sec.full, i, t);
      }
    }
    return out;
  }

  private Object lastValue(State s, int i, long t) {
    FeatureDef f = features[i];
    boolean visible = s.hasLast && s.lastTs < t && (f.lifetime() || s.lastTs >= f.windowStart(t));
    if (!visible) {
      return null;
    }
    return aggs[i] == Aggregation.LAST ? s.lastValues[i] : t - s.lastTs;
  }

  /**
   * The value at {@code t} when every stored tile lies inside the window and before {@code t}:
   * {@code t} is not older than the newest event and the tiles were evicted for it.
   */
  private Object inOrderValue(State s, int i, long t) {
    Section sec = s.sections[i];
    Tiles open = sec.open;
    boolean hasOpen = open.n == 1;
    Aggregation agg = aggs[i];
    if (invertible[i]) {
      long a = sec.ta + (hasOpen ? tileTotal(open, 0, i) : 0);
      return switch (agg) {
        case COUNT, SUM, DISTINCT_COUNT -> a;
        case MEAN -> {
          long c = sec.tc + (hasOpen ? open.c[0] : 0);
          yield c == 0 ? null : (double) a / c;
        }
        default -> throw new IllegalStateException(agg.name());
      };
    }
    if (agg == Aggregation.DISTINCT_COUNT) { // lifetime: one running set
      return hasOpen ? (long) open.sets[0].size() : 0L;
    }
    if (features[i].lifetime()) {
      return scanValue(open, i, t); // one running aggregate
    }
    if (agg == Aggregation.TIME_SINCE_FIRST) {
      long first;
      if (sec.closed > 0) {
        first = sec.firstIdx * features[i].resolutionMillis()
            + new Bytes.Reader(sec.buf, sec.off).varlong();
      } else if (hasOpen) {
        first = open.a[0];
      } else {
        return null;
      }
      return first >= t ? null : t - first;
    }
    // Re-read the closed tiles: float sums and means, min, max.
    boolean dbl = isDouble[i];
    boolean max = agg == Aggregation.MAX;
    long a = 0;
    double d = 0;
    long c = 0;
    boolean found = false;
    Bytes.Reader r = new Bytes.Reader(sec.buf, sec.off);
    for (int k = 0; k < sec.closed; k++) {
      if (k > 0) {
        r.varlong(); // index delta
      }
      switch (agg) {
        case SUM -> d += r.float64();
        case MEAN -> {
          d += r.float64();
          c += r.varlong();
        }
        case MIN, MAX -> {
          if (dbl) {
            double v = r.float64();
            if (!found || (max ? v > d : v < d)) {
              d = v;
            }
          } else {
            long v = r.zigzag();
            if (!found || (max ? v > a : v < a)) {
              a = v;
            }
          }
          found = true;
        }
        default -> throw new IllegalStateException(agg.name());
      }
    }
    if (hasOpen) {
      switch (agg) {
        case SUM -> d += open.d[0];
        case MEAN -> {
          d += open.d[0];
          c += open.c[0];
        }
        case MIN, MAX -> {
          if (dbl) {
            if (!found || (max ? open.d[0] > d : open.d[0] < d)) {
              d = open.d[0];
            }
          } else if (!found || (max ? open.a[0] > a : open.a[0] < a)) {
            a = open.a[0];
          }
          found = true;
        }
        default -> throw new IllegalStateException(agg.name());
      }
    }
    return switch (agg) {
      case SUM -> d;
      case MEAN -> c == 0 ? null : d / c;
      case MIN, MAX -> !found ? null : (dbl ? (Object) d : (Object) a);
      default -> throw new IllegalStateException(agg.name());
    };
  }

  /** The value at {@code t} from every tile, those outside {@code [floor_r(t − W), t]} skipped. */
  private Object scanValue(Tiles tiles, int i, long t) {
    FeatureDef f = features[i];
    Aggregation agg = aggs[i];
    boolean dbl = isDouble[i];
    long lo = f.lifetime() ? Long.MIN_VALUE : Math.floorDiv(t - f.windowMillis(), f.resolutionMillis());
    long hi = f.lifetime() ? Long.MAX_VALUE : Math.floorDiv(t, f.resolutionMillis());
    long a = 0;
    double d = 0;
    long c = 0;
    boolean found = false;
    LongSet union = agg == Aggregation.DISTINCT_COUNT ? new LongSet(8) : null;
    for (int k = 0; k < tiles.n; k++) {
      long idx = tiles.idx[k];
      if (idx < lo || idx > hi) {
        continue;
      }
      switch (agg) {
        case COUNT -> a += tiles.a[k];
        case SUM, MEAN -> {
          a += tiles.a[k];
          d += tiles.d[k];
          c += tiles.c[k];
        }
        case MIN, MAX, TIME_SINCE_FIRST -> {
          if (tiles.c[k] == 0) {
            break;
          }
          boolean max = agg == Aggregation.MAX;
          if (dbl && agg != Aggregation.TIME_SINCE_FIRST) {
            if (!found || (max ? tiles.d[k] > d : tiles.d[k] < d)) {
              d = tiles.d[k];
            }
          } else if (!found || (max ? tiles.a[k] > a : tiles.a[k] < a)) {
            a = tiles.a[k];
          }
          found = true;
        }
        case DISTINCT_COUNT -> union.addAll(tiles.sets[k]);
        default -> throw new IllegalStateException(agg.name());
      }
    }
    return switch (agg) {
      case COUNT -> a;
      case SUM -> dbl ? (Object) d : (Object) a;
      case MEAN -> c == 0 ? null : (dbl ? d : (double) a) / c;
      case MIN, MAX -> !found ? null : (dbl ? (Object) d : (Object) a);
      case TIME_SINCE_FIRST -> !found || a >= t ? null : t - a;
      case DISTINCT_COUNT -> (long) union.size();
      default -> throw new IllegalStateException(agg.name());
    };
  }

  /** Tile {@code k}'s own aggregate, readable (for {@link #describe}). */
  private Object tileValue(Tiles t, int k, int i) {
    return switch (aggs[i]) {
      case COUNT -> t.a[k];
      case SUM, MIN, MAX -> isDouble[i] ? (Object) t.d[k] : (Object) t.a[k];
      case MEAN -> (isDouble[i] ? t.d[k] : (double) t.a[k]) / t.c[k];
      case DISTINCT_COUNT -> (long) t.sets[k].size();
      case TIME_SINCE_FIRST -> Instant.ofEpochMilli(t.a[k]);
      default -> throw new IllegalStateException(aggs[i].name());
    };
  }

  // ------------------------------------------------------------------------------------------
  // State and its codec.

  /** Buffers reused across calls, so an event allocates little beyond its values and new state. */
  private final class Scratch {
    final State state = new State();
    final Bytes.Writer out = new Bytes.Writer();
  }

  private Scratch scratch() {
    if (scratch == null) {
      scratch = new Scratch();
    }
    return scratch;
  }

  private final class State {
    /** Sink of the cache-line touch in {@link #decode} (keeps the loads). */
    int touch;
    boolean any;
    long newestTs;
    final List<Object[]> pending = new ArrayList<>(2);
    boolean hasLast;
    long lastTs;
    final Object[] lastValues = new Object[features.length];
    final Section[] sections = new Section[features.length];
    /** Where {@link #removeFromClosed} rebuilds a section's closed tiles. */
    final Bytes.Writer rebuilt = new Bytes.Writer();

    State() {
      for (int i = 0; i < features.length; i++) {
        if (sectioned[i]) {
          sections[i] = new Section();
        }
      }
    }

    void reset() {
      any = false;
      newestTs = 0;
      pending.clear();
      hasLast = false;
      lastTs = 0;
      Arrays.fill(lastValues, null);
      for (Section sec : sections) {
        if (sec != null) {
          sec.reset();
        }
      }
    }
  }

  /** One feature's part of the state: the open tile, and the closed tiles as encoded bytes. */
  private static final class Section {
    /** The newest tile (n = 0 or 1); for a lifetime feature, its one running aggregate. */
    final Tiles open = new Tiles(1);
    /** Closed tiles, oldest first, in {@code buf[off, end)}: value, then (index delta, value)*. */
    byte[] buf;
    int off;
    int end;
    int closed;
    long firstIdx;
    long lastIdx;
    /** Running totals of the closed tiles (sum or count in ta, a mean's count in tc). */
    long ta;
    long tc;
    /** Every tile decoded, when an out-of-order event needs them; re-split when encoded. */
    Tiles full;
    private final Bytes.Writer own = new Bytes.Writer();
    private boolean owned;

    void reset() {
      open.n = 0;
      buf = null;
      off = 0;
      end = 0;
      closed = 0;
      firstIdx = 0;
      lastIdx = 0;
      ta = 0;
      tc = 0;
      full = null;
      owned = false;
    }

    /** A writer holding the closed tiles, to append to (copies them out of the input once). */
    Bytes.Writer own() {
      if (!owned) {
        own.reset();
        if (closed > 0) {
          own.bytes(buf, off, end - off);
        }
        buf = own.array();
        off = 0;
        end = own.size();
        owned = true;
      }
      return own;
    }
  }

  /** One feature's tiles: parallel arrays sorted by tile index. */
  private static final class Tiles {
    int n;
    long[] idx;
    long[] a;
    double[] d;
    long[] c;
    LongSet[] sets;

    Tiles(int capacity) {
      idx = new long[capacity];
      a = new long[capacity];
      d = new double[capacity];
      c = new long[capacity];
      sets = new LongSet[capacity];
    }

    int findOrInsert(long index, Aggregation agg) {
      int k = n - 1;
      if (k >= 0 && idx[k] == index) {
        return k; // the common case: the newest tile
      }
      if (n == 0) { // the other common case: a new open tile
        idx[0] = index;
        a[0] = 0;
        d[0] = 0;
        c[0] = 0;
        // An open tile's earlier set was written out or evicted: reused, not reallocated.
        sets[0] = agg == Aggregation.DISTINCT_COUNT ? LongSet.emptied(sets[0]) : null;
        n = 1;
        return 0;
      }
      int pos = Arrays.binarySearch(idx, 0, n, index);
      if (pos >= 0) {
        return pos;
      }
      pos = -pos - 1;
      if (n == idx.length) {
        int cap = Math.max(4, n * 2);
        idx = Arrays.copyOf(idx, cap);
        a = Arrays.copyOf(a, cap);
        d = Arrays.copyOf(d, cap);
        c = Arrays.copyOf(c, cap);
        sets = Arrays.copyOf(sets, cap);
      }
      System.arraycopy(idx, pos, idx, pos + 1, n - pos);
      System.arraycopy(a, pos, a, pos + 1, n - pos);
      System.arraycopy(d, pos, d, pos + 1, n - pos);
      System.arraycopy(c, pos, c, pos + 1, n - pos);
      System.arraycopy(sets, pos, sets, pos + 1, n - pos);
      idx[pos] = index;
      a[pos] = 0;
      d[pos] = 0;
      c[pos] = 0;
      sets[pos] = agg == Aggregation.DISTINCT_COUNT ? new LongSet(4) : null;
      n++;
      return pos;
    }

    void dropBelow(long index) {
      int k = 0;
      while (k < n && idx[k] < index) {
        k++;
      }
      if (k == 0) {
        return;
      }
      System.arraycopy(idx, k, idx, 0, n - k);
      System.arraycopy(a, k, a, 0, n - k);
      System.arraycopy(d, k, d, 0, n - k);
      System.arraycopy(c, k, c, 0, n - k);
      System.arraycopy(sets, k, sets, 0, n - k);
      Arrays.fill(sets, n - k, n, null);
      n -= k;
    }

    /** Copies tile {@code k} of {@code from} into slot {@code to}. */
    void set(int to, Tiles from, int k) {
      idx[to] = from.idx[k];
      a[to] = from.a[k];
      d[to] = from.d[k];
      c[to] = from.c[k];
      sets[to] = from.sets[k];
    }
  }

  /** Every tile of feature {@code i} (closed and open) as arrays: the slow path's form. */
  private Tiles materialize(State s, int i) {
    Section sec = s.sections[i];
    if (sec.full != null) {
      return sec.full;
    }
    Tiles t = new Tiles(Math.max(4, sec.closed + 2));
    Bytes.Reader r = new Bytes.Reader(sec.buf, sec.off);
    long idx = sec.firstIdx;
    boolean count = aggs[i] == Aggregation.COUNT;
    for (int k = 0; k < sec.closed; k++) {
      if (count) { // delta and count in one varint (writeClosed)
        long v = r.varlong();
        long delta = countDelta(r, v);
        if (k > 0) {
          idx += delta;
        }
        t.idx[k] = idx;
        t.a[k] = v >>> 1;
      } else {
        if (k > 0) {
          idx += r.varlong();
        }
        t.idx[k] = idx; // before the value: time_since_first's is relative to its tile
        readValue(r, t, k, i, s.newestTs);
      }
    }
    t.n = sec.closed;
    if (sec.open.n == 1) {
      t.set(t.n++, sec.open, 0);
    }
    return t;
  }

  /** Splits materialized tiles back into closed bytes, totals and the open tile. */
  private void dematerialize(State s, int i) {
    Section sec = s.sections[i];
    Tiles t = sec.full;
    sec.full = null;
    sec.owned = false;
    sec.closed = 0;
    sec.ta = 0;
    sec.tc = 0;
    sec.open.n = 0;
    Bytes.Writer w = sec.own();
    for (int k = 0; k < t.n - 1; k++) {
      if (k == 0) {
        sec.firstIdx = t.idx[0];
      }
      writeClosed(w, i, k == 0, k == 0 ? 0 : t.idx[k] - t.idx[k - 1], t, k, s.newestTs);
      if (invertible[i]) {
        sec.ta += tileTotal(t, k, i);
        sec.tc += t.c[k];
      }
      sec.lastIdx = t.idx[k];
      sec.closed++;
    }
    sec.buf = w.array();
    sec.off = 0;
    sec.end = w.size();
    if (t.n > 0) {
      sec.open.set(0, t, t.n - 1);
      sec.open.n = 1;
    }
  }

  private void writeValue(Bytes.Writer w, Tiles t, int k, int i, long newestTs) {
    switch (aggs[i]) {
      case COUNT -> w.varlong(t.a[k]);
      case SUM, MIN, MAX -> {
        if (isDouble[i]) {
          w.float64(t.d[k]);
        } else {
          w.zigzag(t.a[k]);
        }
      }
      case MEAN -> {
        if (isDouble[i]) {
          w.float64(t.d[k]);
        } else {
          w.zigzag(t.a[k]);
        }
        w.varlong(t.c[k]);
      }
      case DISTINCT_COUNT -> t.sets[k].write(w);
      case TIME_SINCE_FIRST -> {
        if (features[i].lifetime()) {
          w.zigzag(newestTs - t.a[k]);
        } else {
          w.varlong(t.a[k] - t.idx[k] * features[i].resolutionMillis());
        }
      }
      default -> throw new IllegalStateException(aggs[i].name());
    }
  }

  private void readValue(Bytes.Reader r, Tiles t, int k, int i, long newestTs) {
    switch (aggs[i]) {
      case COUNT -> t.a[k] = r.varlong();
      case SUM, MIN, MAX -> {
        if (isDouble[i]) {
          t.d[k] = r.float64();
        } else {
          t.a[k] = r.zigzag();
        }
        t.c[k] = 1;
      }
      case MEAN -> {
        if (isDouble[i]) {
          t.d[k] = r.float64();
        } else {
          t.a[k] = r.zigzag();
        }
        t.c[k] = r.varlong();
      }
      case DISTINCT_COUNT -> t.sets[k] = LongSet.read(r, t.sets[k]);
      case TIME_SINCE_FIRST -> {
        t.a[k] = features[i].lifetime()
            ? newestTs - r.zigzag()
            : t.idx[k] * features[i].resolutionMillis() + r.varlong();
        t.c[k] = 1;
      }
      default -> throw new IllegalStateException(aggs[i].name());
    }
  }

  private byte[] encode(State s) {
    return encodeInto(s).toArray();
  }

  /** Encodes {@code s} into the reused scratch writer. */
  private Bytes.Writer encodeInto(State s) {
    Bytes.Writer w = scratch().out;
    w.reset();
    w.byte1(FORMAT);
    w.zigzag(s.newestTs);
    w.varlong(s.pending.size());
    for (Object[] inputs : s.pending) {
      for (int i = 0; i < features.length; i++) {
        if (inputOf[i] == i) {
          writeInput(w, i, inputs[i]);
        }
      }
    }
    w.byte1(s.hasLast ? 1 : 0);
    if (s.hasLast) {
      w.zigzag(s.newestTs - s.lastTs);
      for (int i = 0; i < features.length; i++) {
        if (aggs[i] == Aggregation.LAST) {
          w.tagged(s.lastValues[i]);
        }
      }
    }
    for (int i = 0; i < features.length; i++) {
      if (!sectioned[i]) {
        continue;
      }
      Section sec = s.sections[i];
      if (sec.full != null) {
        dematerialize(s, i);
      }
      FeatureDef f = features[i];
      Tiles open = sec.open;
      if (f.lifetime()) {
        w.byte1(open.n);
        if (open.n == 1) {
          writeValue(w, open, 0, i, s.newestTs);
        }
        continue;
      }
      long base = Math.floorDiv(s.newestTs, f.resolutionMillis());
      w.varlong(sec.closed);
      if (sec.closed > 0) {
        w.zigzag(base - sec.firstIdx);
        w.varlong(sec.lastIdx - sec.firstIdx);
        if (invertible[i]) {
          writeTotals(w, sec, i);
        }
        w.varlong(sec.end - sec.off);
        w.bytes(sec.buf, sec.off, sec.end - sec.off);
      }
      w.byte1(open.n);
      if (open.n == 1) {
        w.zigzag(base - open.idx[0]);
        writeValue(w, open, 0, i, s.newestTs);
      }
    }
    return w;
  }

  private void writeTotals(Bytes.Writer w, Section sec, int i) {
    if (aggs[i] == Aggregation.COUNT || aggs[i] == Aggregation.DISTINCT_COUNT) {
      w.varlong(sec.ta);
    } else {
      w.zigzag(sec.ta);
      if (aggs[i] == Aggregation.MEAN) {
        w.varlong(sec.tc);
      }
    }
  }

  private State decode(byte[] bytes) {
    return decode(bytes, bytes == null ? 0 : bytes.length);
  }

  /** Decodes the first {@code length} of {@code bytes} (null: a new key) into the scratch state. */
  private State decode(byte[] bytes, int length) {
    State s = scratch().state;
    s.reset();
    if (bytes == null) {
      return s;
    }
    // Touch every cache line first: independent loads overlap their misses, where the parse
    // below would wait for each line in turn (each position depends on the varints before it).
    int touch = 0;
    for (int p = 64; p < length; p += 64) {
      touch += bytes[p];
    }
    s.touch = touch;
    Bytes.Reader r = new Bytes.Reader(bytes);
    int format = r.byte1();
    if (format != FORMAT) {
      throw new IllegalStateException("feature state of entity '" + entity + "' has format "
          + format + ", this engine reads " + FORMAT + ": rebuild the state with `vigil features"
          + " backfill`/bootstrap, or run the engine version that wrote it");
    }
    s.any = true;
    s.newestTs = r.zigzag();
    int pending = (int) r.varlong();
    for (int p = 0; p < pending; p++) {
      Object[] inputs = readInputs(r);
      s.pending.add(inputs);
    }
    s.hasLast = r.byte1() == 1;
    if (s.hasLast) {
      s.lastTs = s.newestTs - r.zigzag();
      for (int i = 0; i < features.length; i++) {
        if (aggs[i] == Aggregation.LAST) {
          s.lastValues[i] = r.tagged();
        }
      }
    }
    for (int i = 0; i < features.length; i++) {
      if (!sectioned[i]) {
        continue;
      }
      FeatureDef f = features[i];
      Section sec = s.sections[i];
      Tiles open = sec.open;
      if (f.lifetime()) {
        if (r.byte1() == 1) {
          openTile(open, 0, i);
          readValue(r, open, 0, i, s.newestTs);
        }
        continue;
      }
      long base = Math.floorDiv(s.newestTs, f.resolutionMillis());
      sec.closed = (int) r.varlong();
      if (sec.closed > 0) {
        sec.firstIdx = base - r.zigzag();
        sec.lastIdx = sec.firstIdx + r.varlong();
        if (invertible[i]) {
          if (aggs[i] == Aggregation.COUNT || aggs[i] == Aggregation.DISTINCT_COUNT) {
            sec.ta = r.varlong();
          } else {
            sec.ta = r.zigzag();
            if (aggs[i] == Aggregation.MEAN) {
              sec.tc = r.varlong();
            }
          }
        }
        int len = (int) r.varlong();
        sec.buf = bytes;
        sec.off = r.pos();
        sec.end = sec.off + len;
        r.skip(len);
      }
      if (r.byte1() == 1) {
        openTile(open, base - r.zigzag(), i);
        readValue(r, open, 0, i, s.newestTs);
      }
    }
    return s;
  }

  /** Opens slot 0 of {@code open}; its set, if any, is kept for {@link #readValue} to refill. */
  private void openTile(Tiles open, long idx, int i) {
    open.n = 1;
    open.idx[0] = idx;
    open.a[0] = 0;
    open.d[0] = 0;
    open.c[0] = 0;
  }
}
