package dev.vigil.statetools;

import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.connector.file.src.reader.SimpleStreamFormat;
import org.apache.flink.connector.file.src.reader.StreamFormat;
import org.apache.flink.core.fs.FSDataInputStream;

/**
 * The hand-over from the offline computation to the savepoint writer: each entity's key states
 * spilled to a few local files (one per writer subtask, keys split by hash) and read back by a
 * {@code FileSource}. Files rather than {@code fromData}: the states of millions of keys do not
 * belong in the job graph.
 */
final class KeyedValueFiles {
  private KeyedValueFiles() {}

  /** Writes {@code states} (and their dedupe ids) into {@code files} files under {@code dir}. */
  static List<Path> write(Path dir, String entity, Map<String, byte[]> states,
      Map<String, Map<String, Long>> ids, int files) throws IOException {
    return write(dir, entity, states, ids, Map.of(), files);
  }

  /** As above, with each key's events handed over to the stage (its state may be absent). */
  static List<Path> write(Path dir, String entity, Map<String, byte[]> states,
      Map<String, Map<String, Long>> ids,
      Map<String, List<org.apache.avro.generic.IndexedRecord>> handedOver, int files)
      throws IOException {
    return write(dir, entity, states, ids, handedOver, Map.of(), files);
  }

  /**
   * As above, with each key's waiting events carried from a job's savepoint ({@link
   * KeyedValue#waitingReads}, {@link KeyedValue#waitingUpdates}; only those two fields are used).
   */
  static List<Path> write(Path dir, String entity, Map<String, byte[]> states,
      Map<String, Map<String, Long>> ids,
      Map<String, List<org.apache.avro.generic.IndexedRecord>> handedOver,
      Map<String, KeyedValue> waiting, int files) throws IOException {
    List<Path> paths = new ArrayList<>();
    List<DataOutputStream> outs = new ArrayList<>();
    try {
      for (int i = 0; i < files; i++) {
        Path p = dir.resolve(entity + "-" + i + ".bin");
        paths.add(p);
        outs.add(new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(p), 1 << 16)));
      }
      java.util.Set<String> keys = new java.util.LinkedHashSet<>(states.keySet());
      keys.addAll(handedOver.keySet());
      keys.addAll(waiting.keySet());
      for (String key : keys) {
        DataOutputStream out = outs.get(Math.floorMod(key.hashCode(), files));
        writeString(out, key);
        byte[] state = states.getOrDefault(key, new byte[0]);
        out.writeInt(state.length);
        out.write(state);
        Map<String, Long> seen = ids.getOrDefault(key, Map.of());
        out.writeInt(seen.size());
        for (Map.Entry<String, Long> id : seen.entrySet()) {
          writeString(out, id.getKey());
          out.writeLong(id.getValue());
        }
        var events = handedOver.getOrDefault(key, List.of());
        KeyedValue w = waiting.get(key);
        byte[][] carried = w == null || w.handedOver == null ? new byte[0][] : w.handedOver;
        out.writeInt(events.size() + carried.length);
        for (var event : events) {
          byte[] b = dev.vigil.transforms.flink.HandedOverEvents.encode(event);
          out.writeInt(b.length);
          out.write(b);
        }
        for (byte[] b : carried) {
          out.writeInt(b.length);
          out.write(b);
        }
        writeBytes(out, w == null ? null : w.waitingReads);
        writeBytes(out, w == null ? null : w.waitingUpdates);
      }
    } finally {
      for (DataOutputStream out : outs) {
        out.close();
      }
    }
    return paths;
  }

  private static void writeBytes(DataOutputStream out, byte[][] items) throws IOException {
    out.writeInt(items == null ? 0 : items.length);
    for (int i = 0; items != null && i < items.length; i++) {
      out.writeInt(items[i].length);
      out.write(items[i]);
    }
  }

  private static byte[][] readBytes(DataInputStream in) throws IOException {
    byte[][] items = new byte[in.readInt()][];
    for (int i = 0; i < items.length; i++) {
      items[i] = new byte[in.readInt()];
      in.readFully(items[i]);
    }
    return items;
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    byte[] b = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(b.length);
    out.write(b);
  }

  private static String readString(DataInputStream in) throws IOException {
    byte[] b = new byte[in.readInt()];
    in.readFully(b);
    return new String(b, StandardCharsets.UTF_8);
  }

  /** Reads the files {@link #write} wrote. */
  static final class Format extends SimpleStreamFormat<KeyedValue> {
    private static final long serialVersionUID = 1L;

    @Override
    public StreamFormat.Reader<KeyedValue> createReader(Configuration config,
        FSDataInputStream stream) {
      DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(stream, 1 << 16));
      return new StreamFormat.Reader<>() {
        @Override
        public KeyedValue read() throws IOException {
          String key;
          try {
            key = readString(in);
          } catch (EOFException end) {
            return null;
          }
          byte[] state = new byte[in.readInt()];
          in.readFully(state);
          int n = in.readInt();
          String[] ids = new String[n];
          long[] times = new long[n];
          for (int i = 0; i < n; i++) {
            ids[i] = readString(in);
            times[i] = in.readLong();
          }
          KeyedValue v = new KeyedValue(key, state.length == 0 ? null : state, ids, times);
          v.handedOver = readBytes(in);
          v.waitingReads = readBytes(in);
          v.waitingUpdates = readBytes(in);
          return v;
        }

        @Override
        public void close() throws IOException {
          in.close();
        }
      };
    }

    @Override
    public TypeInformation<KeyedValue> getProducedType() {
      return KeyedValue.TYPE;
    }
  }
}
