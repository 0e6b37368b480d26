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
import java.util.List;
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
 * <p>State: one {@code byte[]} per key holding all the entity's features: per feature, its tiles
 * (one aggregate per {@code r} of event time, sparse, oldest evicted once outside the window) or
 * one running aggregate for a lifetime feature; plus the pending events and the latest event's
 * time and values. Each call decodes it, updates it, and encodes it once: one state read and one
 * write per event in the Flink operator. Not thread-safe (reuses a buffer): one per subtask.
 */
public final class EntityEngine implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final int FORMAT = 1;

  /** What one event produced: the features as known just before it, and the state after it. */
  public record Result(Object[] values, byte[] newState, boolean late) {}

  private final String entity;
  private final FeatureDef[] features;
  private final int[] fieldPos;
  private final ValueKind[] kinds;
  private final int keyPos;
  private final int timePos;
  /** Events older than the key's newest by more than this are late; MAX_VALUE: never. */
  private final long lateAfter;
  private final long ttl;
  private transient Bytes.Writer writer;

  private EntityEngine(CompiledSpec spec, String entity) {
    this.entity = entity;
    List<FeatureDef> defs = spec.spec().featuresOf(entity);
    if (defs.isEmpty()) {
      throw new IllegalArgumentException("entity '" + entity + "' has no features in the spec");
    }
    this.features = defs.toArray(new FeatureDef[0]);
    this.fieldPos = new int[features.length];
    this.kinds = new ValueKind[features.length];
    long longest = 0;
    long resolution = 0;
    boolean lifetime = false;
    for (int i = 0; i < features.length; i++) {
      FieldRef ref = spec.featureField(features[i].name());
      fieldPos[i] = ref == null ? -1 : ref.position();
      kinds[i] = ref == null ? null : ref.kind();
      if (features[i].lifetime()) {
        lifetime = true;
      } else {
        longest = Math.max(longest, features[i].windowMillis());
        resolution = Math.max(resolution, features[i].resolutionMillis());
      }
    }
    this.keyPos = spec.entityKey(entity).position();
    this.timePos = spec.eventTime().position();
    this.lateAfter = lifetime ? Long.MAX_VALUE : longest;
    this.ttl = lifetime ? -1 : longest + resolution;
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
    State s = state == null ? new State(features.length) : decode(state);
    long t = eventTimeOf(event);
    Object[] inputs = inputs(event);
    Object[] values;
    if (!s.any) {
      values = query(s, t);
      s.any = true;
      s.newestTs = t;
      s.pending.add(inputs);
    } else if (t > s.newestTs) {
      fold(s);
      s.newestTs = t;
      evict(s, t);
      values = query(s, t);
      s.pending.add(inputs);
    } else if (t == s.newestTs) {
      values = query(s, t);
      s.pending.add(inputs);
    } else {
      if (lateAfter != Long.MAX_VALUE && s.newestTs - t > lateAfter) {
        return new Result(new Object[features.length], state, true);
      }
      // Out of order within the window: best-effort values, and the event still counts later.
      values = query(s, t);
      add(s, t, inputs);
    }
    return new Result(values, encode(s), false);
  }

  /** Values as of {@code asOfMillis} without an event (inspection, savepoint verification). */
  public Object[] valuesAt(byte[] state, long asOfMillis) {
    State s = state == null ? new State(features.length) : decode(state);
    if (s.any && s.newestTs < asOfMillis) {
      fold(s);
      evict(s, asOfMillis);
    }
    return query(s, asOfMillis);
  }

  /** How long an idle key's state is useful (longest window + tail), empty with a lifetime feature. */
  public OptionalLong stateTtlMillis() {
    return ttl < 0 ? OptionalLong.empty() : OptionalLong.of(ttl);
  }

  /** Number of tiles a feature holds in {@code state}, for tests of eviction. */
  public int tileCount(byte[] state, String feature) {
    State s = decode(state);
    for (int i = 0; i < features.length; i++) {
      if (features[i].name().equals(feature)) {
        return s.tiles[i].n;
      }
    }
    throw new IllegalArgumentException("no feature " + feature + " in entity " + entity);
  }

  // ------------------------------------------------------------------------------------------

  private Object[] inputs(IndexedRecord event) {
    Object[] in = new Object[features.length];
    for (int i = 0; i < features.length; i++) {
      if (fieldPos[i] >= 0) {
        in[i] = normalize(event.get(fieldPos[i]), kinds[i]);
      }
    }
    return in;
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
    if (!s.hasLast || ts >= s.lastTs) {
      s.hasLast = true;
      s.lastTs = ts;
      for (int i = 0; i < features.length; i++) {
        if (features[i].aggregation() == Aggregation.LAST) {
          s.lastValues[i] = inputs[i];
        }
      }
    }
    for (int i = 0; i < features.length; i++) {
      FeatureDef f = features[i];
      Aggregation agg = f.aggregation();
      if (agg == Aggregation.LAST || agg == Aggregation.TIME_SINCE_LAST) {
        continue;
      }
      Object in = inputs[i];
      if (agg.readsField() && in == null) {
        continue; // nulls are skipped
      }
      long idx = f.lifetime() ? 0 : Math.floorDiv(ts, f.resolutionMillis());
      if (!f.lifetime() && idx < Math.floorDiv(s.newestTs - f.windowMillis(), f.resolutionMillis())) {
        continue; // an out-of-order event already outside this feature's window
      }
      Tiles tiles = s.tiles[i];
      int k = tiles.findOrInsert(idx, agg);
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
        case DISTINCT_COUNT -> tiles.sets[k].add(Bytes.hash(in));
        case TIME_SINCE_FIRST -> {
          if (tiles.c[k] == 0 || ts < tiles.a[k]) {
            tiles.a[k] = ts;
          }
          tiles.c[k] = 1;
        }
        default -> throw new IllegalStateException(agg.name());
      }
    }
  }

  private void evict(State s, long t) {
    for (int i = 0; i < features.length; i++) {
      FeatureDef f = features[i];
      if (!f.lifetime()) {
        s.tiles[i].dropBelow(Math.floorDiv(t - f.windowMillis(), f.resolutionMillis()));
      }
    }
  }

  private Object[] query(State s, long t) {
    Object[] out = new Object[features.length];
    for (int i = 0; i < features.length; i++) {
      out[i] = value(s, i, t);
    }
    return out;
  }

  private Object value(State s, int i, long t) {
    FeatureDef f = features[i];
    Aggregation agg = f.aggregation();
    boolean isDouble = kinds[i] == ValueKind.DOUBLE;
    if (agg == Aggregation.LAST || agg == Aggregation.TIME_SINCE_LAST) {
      boolean visible = s.hasLast && s.lastTs < t && (f.lifetime() || s.lastTs >= f.windowStart(t));
      if (!visible) {
        return null;
      }
      return agg == Aggregation.LAST ? s.lastValues[i] : t - s.lastTs;
    }
    Tiles tiles = s.tiles[i];
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
          if (isDouble && agg != Aggregation.TIME_SINCE_FIRST) {
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
      case SUM -> isDouble ? (Object) d : (Object) a;
      case MEAN -> c == 0 ? null : (isDouble ? d : (double) a) / c;
      case MIN, MAX -> !found ? null : (isDouble ? (Object) d : (Object) a);
      case TIME_SINCE_FIRST -> !found || a >= t ? null : t - a;
      case DISTINCT_COUNT -> (long) union.size();
      default -> throw new IllegalStateException(agg.name());
    };
  }

  // ------------------------------------------------------------------------------------------
  // State and its codec.

  private static final class State {
    boolean any;
    long newestTs;
    final List<Object[]> pending = new ArrayList<>(2);
    boolean hasLast;
    long lastTs;
    final Object[] lastValues;
    final Tiles[] tiles;

    State(int n) {
      lastValues = new Object[n];
      tiles = new Tiles[n];
      for (int i = 0; i < n; i++) {
        tiles[i] = new Tiles(4);
      }
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
  }

  private byte[] encode(State s) {
    if (writer == null) {
      writer = new Bytes.Writer();
    }
    Bytes.Writer w = writer;
    w.reset();
    w.byte1(FORMAT);
    w.zigzag(s.newestTs);
    w.varlong(s.pending.size());
    for (Object[] inputs : s.pending) {
      for (int i = 0; i < features.length; i++) {
        if (fieldPos[i] >= 0) {
          w.tagged(inputs[i]);
        }
      }
    }
    w.byte1(s.hasLast ? 1 : 0);
    if (s.hasLast) {
      w.zigzag(s.newestTs - s.lastTs);
      for (int i = 0; i < features.length; i++) {
        if (features[i].aggregation() == Aggregation.LAST) {
          w.tagged(s.lastValues[i]);
        }
      }
    }
    for (int i = 0; i < features.length; i++) {
      FeatureDef f = features[i];
      Aggregation agg = f.aggregation();
      if (agg == Aggregation.LAST || agg == Aggregation.TIME_SINCE_LAST) {
        continue;
      }
      boolean isDouble = kinds[i] == ValueKind.DOUBLE;
      Tiles t = s.tiles[i];
      w.varlong(t.n);
      long base = f.lifetime() ? 0 : Math.floorDiv(s.newestTs, f.resolutionMillis());
      long prev = 0;
      for (int k = 0; k < t.n; k++) {
        if (k == 0) {
          w.zigzag(base - t.idx[0]);
        } else {
          w.varlong(t.idx[k] - prev);
        }
        prev = t.idx[k];
        switch (agg) {
          case COUNT -> w.varlong(t.a[k]);
          case SUM -> {
            if (isDouble) {
              w.float64(t.d[k]);
            } else {
              w.zigzag(t.a[k]);
            }
          }
          case MEAN -> {
            if (isDouble) {
              w.float64(t.d[k]);
            } else {
              w.zigzag(t.a[k]);
            }
            w.varlong(t.c[k]);
          }
          case MIN, MAX -> {
            if (isDouble) {
              w.float64(t.d[k]);
            } else {
              w.zigzag(t.a[k]);
            }
          }
          case DISTINCT_COUNT -> t.sets[k].write(w);
          case TIME_SINCE_FIRST -> w.zigzag(s.newestTs - t.a[k]);
          default -> throw new IllegalStateException(agg.name());
        }
      }
    }
    return w.toArray();
  }

  private State decode(byte[] bytes) {
    Bytes.Reader r = new Bytes.Reader(bytes);
    int format = r.byte1();
    if (format != FORMAT) {
      throw new IllegalStateException("feature state of entity '" + entity + "' has format "
          + format + ", this engine reads " + FORMAT);
    }
    State s = new State(features.length);
    s.any = true;
    s.newestTs = r.zigzag();
    int pending = (int) r.varlong();
    for (int p = 0; p < pending; p++) {
      Object[] inputs = new Object[features.length];
      for (int i = 0; i < features.length; i++) {
        if (fieldPos[i] >= 0) {
          inputs[i] = r.tagged();
        }
      }
      s.pending.add(inputs);
    }
    s.hasLast = r.byte1() == 1;
    if (s.hasLast) {
      s.lastTs = s.newestTs - r.zigzag();
      for (int i = 0; i < features.length; i++) {
        if (features[i].aggregation() == Aggregation.LAST) {
          s.lastValues[i] = r.tagged();
        }
      }
    }
    for (int i = 0; i < features.length; i++) {
      FeatureDef f = features[i];
      Aggregation agg = f.aggregation();
      if (agg == Aggregation.LAST || agg == Aggregation.TIME_SINCE_LAST) {
        continue;
      }
      boolean isDouble = kinds[i] == ValueKind.DOUBLE;
      int n = (int) r.varlong();
      Tiles t = new Tiles(Math.max(4, n + 1));
      long base = f.lifetime() ? 0 : Math.floorDiv(s.newestTs, f.resolutionMillis());
      long prev = 0;
      for (int k = 0; k < n; k++) {
        long idx = k == 0 ? base - r.zigzag() : prev + r.varlong();
        prev = idx;
        t.idx[k] = idx;
        switch (agg) {
          case COUNT -> t.a[k] = r.varlong();
          case SUM -> {
            if (isDouble) {
              t.d[k] = r.float64();
            } else {
              t.a[k] = r.zigzag();
            }
          }
          case MEAN -> {
            if (isDouble) {
              t.d[k] = r.float64();
            } else {
              t.a[k] = r.zigzag();
            }
            t.c[k] = r.varlong();
          }
          case MIN, MAX -> {
            if (isDouble) {
              t.d[k] = r.float64();
            } else {
              t.a[k] = r.zigzag();
            }
            t.c[k] = 1;
          }
          case DISTINCT_COUNT -> t.sets[k] = LongSet.read(r);
          case TIME_SINCE_FIRST -> {
            t.a[k] = s.newestTs - r.zigzag();
            t.c[k] = 1;
          }
          default -> throw new IllegalStateException(agg.name());
        }
      }
      t.n = n;
      s.tiles[i] = t;
    }
    return s;
  }
}
