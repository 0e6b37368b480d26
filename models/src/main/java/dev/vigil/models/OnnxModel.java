package dev.vigil.models;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * An ONNX model run by ONNX Runtime (CPU, one thread per session).
 *
 * <p>The model has one {@code float} input tensor of shape {@code [1, n]} or {@code [N, n]} ({@code
 * N} dynamic). Its input feature names are the metadata property {@code vigil.inputs}
 * (comma-separated, in column order), or else the input tensor's name. The score is the first
 * {@code float} tensor output, or the output named {@code probabilities}/{@code probability} when
 * there is one; when that output has two columns ({@code [1, 2]}: P(class 0), P(class 1)), column 1.
 *
 * <p>{@link #close()} frees the native session; scoring after it throws {@link
 * IllegalStateException}.
 */
public final class OnnxModel implements Scorer {
  static final String KIND = "onnx";

  /** The metadata property naming the input features, comma-separated, in column order. */
  public static final String INPUTS_METADATA = "vigil.inputs";

  private final ModelInfo info;
  private final String inputsSource;
  private final OrtEnvironment env;
  private final OrtSession session;
  private final String inputName;
  private final String outputName;
  private final Set<String> requested;
  private final int column;
  private final long[] shape;
  private final FloatBuffer buffer;
  private boolean closed;

  private OnnxModel(
      ModelInfo info,
      String inputsSource,
      OrtEnvironment env,
      OrtSession session,
      String inputName,
      String outputName,
      int column) {
    this.info = info;
    this.inputsSource = inputsSource;
    this.env = env;
    this.session = session;
    this.inputName = inputName;
    this.outputName = outputName;
    this.requested = Set.of(outputName);
    this.column = column;
    int n = info.inputs().size();
    this.shape = new long[] {1, n};
    this.buffer =
        ByteBuffer.allocateDirect(n * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  /** Where the input names came from: the metadata property or the input tensor's name. */
  String inputsSource() {
    return inputsSource;
  }

  /** The output the score is read from. */
  public String outputName() {
    return outputName;
  }

  @Override
  public synchronized double score(double[] inputs) {
    if (closed) {
      throw new IllegalStateException(info.version() + " is closed");
    }
    int n = info.inputs().size();
    if (inputs.length != n) {
      throw new IllegalArgumentException(
          info.version() + " takes " + n + " inputs " + info.inputs() + ", got " + inputs.length);
    }
    buffer.clear();
    for (double x : inputs) {
      buffer.put((float) x);
    }
    buffer.flip();
    try (OnnxTensor tensor = OnnxTensor.createTensor(env, buffer, shape);
        OrtSession.Result result = session.run(Map.of(inputName, tensor), requested)) {
      OnnxValue out = result.get(0);
      FloatBuffer values = ((OnnxTensor) out).getFloatBuffer();
      return values.get(column);
    } catch (OrtException e) {
      throw new IllegalStateException(info.version() + ": ONNX Runtime failed to score: " + e, e);
    }
  }

  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    try {
      session.close();
    } catch (OrtException e) {
      throw new IllegalStateException(info.version() + ": closing the ONNX session failed", e);
    }
  }

  @Override
  public String toString() {
    return info.version() + " (onnx, output " + outputName + "[" + column + "])";
  }

  /**
   * Loads an ONNX model.
   *
   * @throws ModelException ONNX Runtime cannot load it, or its input/output shape is unsupported
   */
  public static OnnxModel load(Path file, byte[] bytes, String name, String version)
      throws ModelException {
    OrtEnvironment env;
    try {
      env = OrtEnvironment.getEnvironment();
    } catch (RuntimeException | LinkageError e) {
      throw new ModelException(
          file,
          "ONNX Runtime's native library cannot be loaded on this machine (" + e + "); use an"
              + " XGBoost JSON model, or run on a platform ONNX Runtime supports",
          e);
    }
    OrtSession session;
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      // One Flink subtask, one thread: parallelism comes from the job, not from ORT.
      options.setIntraOpNumThreads(1);
      options.setInterOpNumThreads(1);
      session = env.createSession(bytes, options);
    } catch (OrtException e) {
      throw new ModelException(
          file,
          "ONNX Runtime cannot load it (" + e.getMessage() + "); check that the file is a complete"
              + " ONNX model (opset supported by ONNX Runtime 1.22)",
          e);
    }
    try {
      return describe(file, env, session, name, version);
    } catch (ModelException | RuntimeException e) {
      try {
        session.close();
      } catch (OrtException suppressed) {
        e.addSuppressed(suppressed);
      }
      throw e;
    }
  }

  private static OnnxModel describe(
      Path file, OrtEnvironment env, OrtSession session, String name, String version)
      throws ModelException {
    try {
      Map<String, NodeInfo> inputs = session.getInputInfo();
      if (inputs.size() != 1) {
        throw new ModelException(
            file,
            "the model has " + inputs.size() + " input tensors " + inputs.keySet() + "; Vigil feeds"
                + " one float tensor [1, n]: export the model with a single input");
      }
      NodeInfo input = inputs.values().iterator().next();
      if (!(input.getInfo() instanceof TensorInfo tensor) || tensor.type != OnnxJavaType.FLOAT) {
        throw new ModelException(
            file,
            "input " + input.getName() + " is " + input.getInfo() + "; it must be a float tensor"
                + " [1, n] (export with float32 inputs)");
      }
      long[] dims = tensor.getShape();
      if (dims.length != 2 || dims[0] > 1) {
        throw new ModelException(
            file,
            "input " + input.getName() + " has shape " + Arrays.toString(dims) + "; it must be [1, n]"
                + " or [N, n] with N dynamic");
      }

      String declared = session.getMetadata().getCustomMetadata().get(INPUTS_METADATA);
      List<String> names = new ArrayList<>();
      String source;
      if (declared != null) {
        for (String part : declared.split(",", -1)) {
          names.add(part.trim());
        }
        source = "metadata_props " + INPUTS_METADATA;
      } else {
        names.add(input.getName());
        source =
            "the input tensor name; add a metadata_props entry " + INPUTS_METADATA
                + "=<comma-separated feature names> to name the columns";
      }
      if (dims[1] > 0 && dims[1] != names.size()) {
        throw new ModelException(
            file,
            "input " + input.getName() + " has " + dims[1] + " columns but " + source + " names "
                + names.size() + " features " + names);
      }

      String outputName = null;
      long outputColumns = 0;
      for (NodeInfo output : session.getOutputInfo().values()) {
        if (output.getInfo() instanceof TensorInfo t && t.type == OnnxJavaType.FLOAT) {
          boolean probabilities =
              output.getName().equals("probabilities") || output.getName().equals("probability");
          if (outputName == null || probabilities) {
            outputName = output.getName();
            long[] s = t.getShape();
            outputColumns = s.length == 0 ? 1 : s[s.length - 1];
          }
          if (probabilities) {
            break;
          }
        }
      }
      if (outputName == null) {
        throw new ModelException(
            file,
            "the model has no float tensor output (outputs: " + session.getOutputInfo().values()
                + "); export the score as a float tensor (for sklearn-onnx classifiers:"
                + " options={'zipmap': False})");
      }
      if (outputColumns > 2) {
        throw new ModelException(
            file,
            "output " + outputName + " has " + outputColumns + " columns; Vigil scores a single"
                + " value or a two-class probability [1, 2]");
      }
      int column = outputColumns == 2 ? 1 : 0;
      ModelInfo info = new ModelInfo(name, version, KIND, names);
      return new OnnxModel(info, source, env, session, input.getName(), outputName, column);
    } catch (OrtException e) {
      throw new ModelException(file, "ONNX Runtime cannot describe it (" + e.getMessage() + ")", e);
    }
  }
}
