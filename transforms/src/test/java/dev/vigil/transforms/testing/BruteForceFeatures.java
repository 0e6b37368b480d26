package dev.vigil.transforms.testing;

import dev.vigil.transforms.spec.Aggregation;
import dev.vigil.transforms.spec.CompiledSpec;
import dev.vigil.transforms.spec.FeatureDef;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.avro.generic.IndexedRecord;

/**
 * Feature values straight from the definition, by scanning every earlier event of the key: the
 * reference the engine, the offline evaluator and the Flink operators are compared with. Quadratic;
 * for tests only. Assumes per-key time order (what the engine is exact for).
 */
public final class BruteForceFeatures {
  private BruteForceFeatures() {}

  /** For each event (input order), feature name → value. */
  public static List<Map<String, Object>> compute(CompiledSpec spec, List<? extends IndexedRecord> events) {
    Map<String, Map<String, List<IndexedRecord>>> seen = new HashMap<>();
    List<Map<String, Object>> out = new ArrayList<>();
    int timePos = spec.eventTime().position();
    for (IndexedRecord e : events) {
      long t = time(e.get(timePos));
      Map<String, Object> values = new HashMap<>();
      for (String entity : spec.spec().activeEntities()) {
        Object k = e.get(spec.entityKey(entity).position());
        String key = k == null ? null : k.toString();
        List<IndexedRecord> history =
            key == null || key.isEmpty() ? List.of()
                : seen.computeIfAbsent(entity, x -> new HashMap<>()).getOrDefault(key, List.of());
        for (FeatureDef f : spec.spec().featuresOf(entity)) {
          values.put(f.name(), key == null || key.isEmpty() ? null : value(spec, f, history, t, timePos));
        }
        if (key != null && !key.isEmpty()) {
          seen.get(entity).computeIfAbsent(key, x -> new ArrayList<>()).add(e);
        }
      }
      out.add(values);
    }
    return out;
  }

  /**
   * Like {@link #compute} for a stream that is not in time order per key, under the documented
   * out-of-order policy: an event older than its key's newest (for an entity) by more than the
   * entity's longest window is late — it counts nowhere and its values for that entity are null;
   * any other event counts for later events. An event's own values are exact only when it is not
   * older than its key's newest, so the maps hold only those (and the late events' nulls): compare
   * the keys they contain.
   */
  public static List<Map<String, Object>> computeOutOfOrder(
      CompiledSpec spec, List<? extends IndexedRecord> events) {
    Map<String, Map<String, List<IndexedRecord>>> seen = new HashMap<>();
    Map<String, Map<String, Long>> newest = new HashMap<>();
    List<Map<String, Object>> out = new ArrayList<>();
    int timePos = spec.eventTime().position();
    for (IndexedRecord e : events) {
      long t = time(e.get(timePos));
      Map<String, Object> values = new HashMap<>();
      for (String entity : spec.spec().activeEntities()) {
        Object k = e.get(spec.entityKey(entity).position());
        String key = k == null ? null : k.toString();
        List<FeatureDef> defs = spec.spec().featuresOf(entity);
        if (key == null || key.isEmpty()) {
          defs.forEach(f -> values.put(f.name(), null));
          continue;
        }
        boolean lifetime = defs.stream().anyMatch(FeatureDef::lifetime);
        long longest = defs.stream().mapToLong(FeatureDef::windowMillis).max().orElse(0);
        Long max = newest.computeIfAbsent(entity, x -> new HashMap<>()).get(key);
        List<IndexedRecord> history =
            seen.computeIfAbsent(entity, x -> new HashMap<>()).computeIfAbsent(key, x -> new ArrayList<>());
        if (max != null && !lifetime && max - t > longest) {
          defs.forEach(f -> values.put(f.name(), null)); // late: counts nowhere
          continue;
        }
        if (max == null || t >= max) {
          for (FeatureDef f : defs) {
            values.put(f.name(), value(spec, f, history, t, timePos));
          }
        }
        history.add(e);
        newest.get(entity).put(key, max == null ? t : Math.max(max, t));
      }
      out.add(values);
    }
    return out;
  }

  /**
   * The definition itself, for any arrival order: each event's features are read as of {@code t −
   * as_of} (its entity's lag) over the set of all of its key's events in {@code events}, whatever
   * their order in the list. What every path must equal at any partitioning.
   */
  public static List<Map<String, Object>> exact(CompiledSpec spec, List<? extends IndexedRecord> events) {
    int timePos = spec.eventTime().position();
    Map<String, Map<String, List<IndexedRecord>>> byKey = new HashMap<>();
    for (String entity : spec.spec().activeEntities()) {
      Map<String, List<IndexedRecord>> keys = new HashMap<>();
      for (IndexedRecord e : events) {
        Object k = e.get(spec.entityKey(entity).position());
        if (k != null && !k.toString().isEmpty()) {
          keys.computeIfAbsent(k.toString(), x -> new ArrayList<>()).add(e);
        }
      }
      byKey.put(entity, keys);
    }
    List<Map<String, Object>> out = new ArrayList<>();
    for (IndexedRecord e : events) {
      long t = time(e.get(timePos));
      Map<String, Object> values = new HashMap<>();
      for (String entity : spec.spec().activeEntities()) {
        Object k = e.get(spec.entityKey(entity).position());
        String key = k == null ? null : k.toString();
        long q = t - spec.spec().timingOf(entity).asOfMillis();
        List<IndexedRecord> history = key == null || key.isEmpty() ? null
            : sinceIdle(byKey.get(entity).get(key), q, spec.spec().timingOf(entity).idleTtlMillis(),
                timePos);
        for (FeatureDef f : spec.spec().featuresOf(entity)) {
          values.put(f.name(), history == null ? null : value(spec, f, history, q, timePos));
        }
      }
      out.add(values);
    }
    return out;
  }

  /**
   * {@code idle_ttl}: of a key's events, those a read at {@code q} sees: none if the newest before
   * {@code q} is {@code idle} or more before it, else those since the last gap of {@code idle} or
   * more between consecutive event times before {@code q}. All of them when {@code idle} is 0.
   */
  private static List<IndexedRecord> sinceIdle(List<IndexedRecord> history, long q, long idle,
      int timePos) {
    if (idle == 0) {
      return history;
    }
    List<Long> times = new ArrayList<>();
    for (IndexedRecord p : history) {
      long pt = time(p.get(timePos));
      if (pt < q) {
        times.add(pt);
      }
    }
    if (times.isEmpty()) {
      return List.of();
    }
    times.sort(null);
    if (q - times.get(times.size() - 1) >= idle) {
      return List.of();
    }
    long from = times.get(0);
    for (int i = 1; i < times.size(); i++) {
      if (times.get(i) - times.get(i - 1) >= idle) {
        from = times.get(i);
      }
    }
    List<IndexedRecord> out = new ArrayList<>();
    for (IndexedRecord p : history) {
      if (time(p.get(timePos)) >= from) {
        out.add(p);
      }
    }
    return out;
  }

  @SuppressWarnings({"unchecked", "rawtypes"})
  private static boolean greater(Object a, Object b) {
    if (a == null) {
      return false;
    }
    return b == null || ((Comparable) a).compareTo(b) > 0;
  }

  private static Object value(CompiledSpec spec, FeatureDef f, List<IndexedRecord> history, long t, int timePos) {
    long start = f.lifetime() ? Long.MIN_VALUE : f.windowStart(t);
    CompiledSpec.FieldRef field = spec.featureField(f.name());
    List<IndexedRecord> in = new ArrayList<>();
    for (IndexedRecord p : history) {
      long pt = time(p.get(timePos));
      if (pt >= start && pt < t) {
        in.add(p);
      }
    }
    Aggregation agg = f.aggregation();
    boolean isDouble = field != null && field.kind() == CompiledSpec.ValueKind.DOUBLE;
    switch (agg) {
      case COUNT:
        return (long) in.size();
      case TIME_SINCE_LAST: {
        Long latest = null;
        for (IndexedRecord p : in) {
          long pt = time(p.get(timePos));
          latest = latest == null ? pt : Math.max(latest, pt);
        }
        return latest == null ? null : t - latest;
      }
      case TIME_SINCE_FIRST: {
        Long first = null;
        for (IndexedRecord p : in) {
          long pt = time(p.get(timePos));
          first = first == null ? pt : Math.min(first, pt);
        }
        return first == null ? null : t - first;
      }
      case LAST: {
        // The latest event's value; ties in a millisecond: the greatest value (null lowest).
        boolean any = false;
        Object latest = null;
        long latestTs = Long.MIN_VALUE;
        for (IndexedRecord p : in) {
          long pt = time(p.get(timePos));
          Object v = scalar(p.get(field.position()), field.kind());
          if (!any || pt > latestTs || (pt == latestTs && greater(v, latest))) {
            any = true;
            latestTs = pt;
            latest = v;
          }
        }
        return latest;
      }
      case DISTINCT_COUNT: {
        Set<Object> distinct = new HashSet<>();
        for (IndexedRecord p : in) {
          Object v = scalar(p.get(field.position()), field.kind());
          if (v != null) {
            distinct.add(v);
          }
        }
        return (long) distinct.size();
      }
      default: {
        List<Object> vs = new ArrayList<>();
        for (IndexedRecord p : in) {
          Object v = scalar(p.get(field.position()), field.kind());
          if (v != null) {
            vs.add(v);
          }
        }
        if (agg == Aggregation.SUM) {
          if (isDouble) {
            double s = 0;
            for (Object v : vs) {
              s += (Double) v;
            }
            return s;
          }
          long s = 0;
          for (Object v : vs) {
            s += (Long) v;
          }
          return s;
        }
        if (vs.isEmpty()) {
          return null;
        }
        if (agg == Aggregation.MEAN) {
          double s = 0;
          for (Object v : vs) {
            s += ((Number) v).doubleValue();
          }
          return s / vs.size();
        }
        Object best = vs.get(0);
        for (Object v : vs) {
          @SuppressWarnings({"unchecked", "rawtypes"})
          int cmp = ((Comparable) v).compareTo(best);
          if (agg == Aggregation.MAX ? cmp > 0 : cmp < 0) {
            best = v;
          }
        }
        return best;
      }
    }
  }

  static long time(Object v) {
    return v instanceof Instant i ? i.toEpochMilli() : ((Number) v).longValue();
  }

  static Object scalar(Object v, CompiledSpec.ValueKind kind) {
    if (v == null) {
      return null;
    }
    return switch (kind) {
      case LONG -> v instanceof Instant i ? i.toEpochMilli() : ((Number) v).longValue();
      case DOUBLE -> ((Number) v).doubleValue();
      case STRING -> v.toString();
      case BOOLEAN -> v;
    };
  }
}
