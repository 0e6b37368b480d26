package dev.vigil.transforms.engine;

import java.io.Serializable;
import java.util.List;
import java.util.OptionalLong;
import org.apache.avro.generic.IndexedRecord;

/**
 * Computes every feature of one entity (e.g. {@code card}) of a feature spec, one event at a time,
 * over a compact per-key state value. Plain Java: the streaming operator, the offline evaluator and
 * the savepoint bootstrap all call this class, which is what keeps training and serving equal.
 *
 * <p>SKELETON: the contract the Flink operators build against. Implementation pending.
 */
public final class EntityEngine implements Serializable {
  private static final long serialVersionUID = 1L;

  /** What one event produced: the features as known just before it, and the state after it. */
  public record Result(Object[] values, byte[] newState, boolean late) {}

  /** The entity's name in the spec, e.g. {@code card}. */
  public String entity() {
    throw new UnsupportedOperationException("pending");
  }

  /** The entity's feature names, in spec order; {@link Result#values()} follows this order. */
  public List<String> featureNames() {
    throw new UnsupportedOperationException("pending");
  }

  /** The entity key of {@code event} (e.g. its card_id), or null when missing or empty. */
  public String keyOf(IndexedRecord event) {
    throw new UnsupportedOperationException("pending");
  }

  /** The event time of {@code event}, epoch millis. */
  public long eventTimeOf(IndexedRecord event) {
    throw new UnsupportedOperationException("pending");
  }

  /**
   * Values as of just before {@code event} and the key's state after it. {@code state} is null for
   * a key never seen. A late event (older than the newest seen for the key by more than the longest
   * window) leaves the state unchanged, has null values and {@code late = true}.
   */
  public Result apply(byte[] state, IndexedRecord event) {
    throw new UnsupportedOperationException("pending");
  }

  /** Values as of {@code asOfMillis} without an event (inspect, savepoint verify). */
  public Object[] valuesAt(byte[] state, long asOfMillis) {
    throw new UnsupportedOperationException("pending");
  }

  /** How long an idle key's state is useful (longest window + tail), empty with a lifetime feature. */
  public OptionalLong stateTtlMillis() {
    throw new UnsupportedOperationException("pending");
  }
}
