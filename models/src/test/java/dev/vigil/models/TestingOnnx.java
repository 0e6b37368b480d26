package dev.vigil.models;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Writes small, valid ONNX models without Python: a hand-rolled protobuf encoder (varints and
 * length-delimited fields) for the few ONNX messages a logistic model needs. Field numbers are
 * those of onnx.proto (ir_version 8, opset 13).
 */
final class TestingOnnx {
  private static final int FLOAT = 1; // TensorProto.DataType.FLOAT
  private static final int ATTRIBUTE_INT = 2; // AttributeProto.AttributeType.INT

  private TestingOnnx() {}

  /** A protobuf message being written. */
  static final class Msg {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    Msg varint(int field, long value) {
      tag(field, 0);
      raw(value);
      return this;
    }

    Msg bytes(int field, byte[] value) {
      tag(field, 2);
      raw(value.length);
      out.writeBytes(value);
      return this;
    }

    Msg string(int field, String value) {
      return bytes(field, value.getBytes(StandardCharsets.UTF_8));
    }

    Msg msg(int field, Msg value) {
      return bytes(field, value.toByteArray());
    }

    /** A packed repeated float field (little-endian fixed32s). */
    Msg floats(int field, float... values) {
      ByteArrayOutputStream packed = new ByteArrayOutputStream();
      for (float v : values) {
        int bits = Float.floatToIntBits(v);
        for (int i = 0; i < 4; i++) {
          packed.write(bits >>> (8 * i));
        }
      }
      return bytes(field, packed.toByteArray());
    }

    byte[] toByteArray() {
      return out.toByteArray();
    }

    private void tag(int field, int wireType) {
      raw(((long) field << 3) | wireType);
    }

    private void raw(long value) {
      while ((value & ~0x7FL) != 0) {
        out.write((int) ((value & 0x7F) | 0x80));
        value >>>= 7;
      }
      out.write((int) value);
    }
  }

  /** ValueInfoProto: a float tensor with fixed dims ({@code -1}: a symbolic dim "N"). */
  static Msg floatTensor(String name, long... dims) {
    Msg shape = new Msg();
    for (long d : dims) {
      shape.msg(1, d < 0 ? new Msg().string(2, "N") : new Msg().varint(1, d));
    }
    Msg tensorType = new Msg().varint(1, FLOAT).msg(2, shape);
    return new Msg().string(1, name).msg(2, new Msg().msg(1, tensorType));
  }

  /** TensorProto initializer. */
  static Msg initializer(String name, long[] dims, float... values) {
    Msg t = new Msg();
    for (long d : dims) {
      t.varint(1, d);
    }
    return t.varint(2, FLOAT).floats(4, values).string(8, name);
  }

  static Msg node(String op, List<String> inputs, String output, Msg... attributes) {
    Msg n = new Msg();
    for (String in : inputs) {
      n.string(1, in);
    }
    n.string(2, output).string(3, op + "_" + output).string(4, op);
    for (Msg a : attributes) {
      n.msg(5, a);
    }
    return n;
  }

  /**
   * Y = sigmoid(X·W + B) with X float [1, n]; {@code inputsMetadata} (or null) becomes the
   * metadata property {@code vigil.inputs}. With {@code twoClass}, the outputs are the margin
   * first and then {@code probabilities} [1, 2] = [1 − p, p].
   */
  static byte[] logistic(float[] weights, float bias, String inputsMetadata, boolean twoClass) {
    int n = weights.length;
    Msg graph =
        new Msg()
            .msg(1, node("MatMul", List.of("X", "W"), "XW"))
            .msg(1, node("Add", List.of("XW", "B"), "Z"))
            .msg(1, node("Sigmoid", List.of("Z"), "P"));
    if (twoClass) {
      graph
          .msg(1, node("Sub", List.of("One", "P"), "Q"))
          .msg(
              1,
              node(
                  "Concat",
                  List.of("Q", "P"),
                  "probabilities",
                  new Msg().string(1, "axis").varint(3, 1).varint(20, ATTRIBUTE_INT)));
    }
    graph
        .string(2, "vigil_test_logistic")
        .msg(5, initializer("W", new long[] {n, 1}, weights))
        .msg(5, initializer("B", new long[] {1}, bias));
    if (twoClass) {
      graph.msg(5, initializer("One", new long[] {1, 1}, 1f));
    }
    graph.msg(11, floatTensor("X", -1, n));
    if (twoClass) {
      graph.msg(12, floatTensor("Z", -1, 1)).msg(12, floatTensor("probabilities", -1, 2));
    } else {
      graph.msg(12, floatTensor("P", -1, 1));
    }
    Msg model =
        new Msg()
            .varint(1, 8) // ir_version
            .string(2, "vigil-tests")
            .msg(7, graph)
            .msg(8, new Msg().string(1, "").varint(2, 13)); // opset_import: ai.onnx 13
    if (inputsMetadata != null) {
      model.msg(14, new Msg().string(1, OnnxModel.INPUTS_METADATA).string(2, inputsMetadata));
    }
    return model.toByteArray();
  }
}
