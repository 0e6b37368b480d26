package dev.vigil.models;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Loads a model file into a {@link Scorer}, refusing it unless its inputs are exactly the features
 * the spec says it reads.
 *
 * <p>The format follows the extension: {@code .json} is an XGBoost JSON model ({@code
 * Booster.saveModel("x.json")}), {@code .onnx} an ONNX model. The version is {@code
 * <name>@<first 12 hex digits of the SHA-256 of the file>}, so any change to the content is a new
 * version and the same bytes are the same version wherever they are deployed.
 */
public final class ModelLoader {
  /** How many hex digits of the SHA-256 the version keeps. */
  public static final int VERSION_HEX_DIGITS = 12;

  /**
   * The largest model file read: a file past it (a data dump or a checkpoint directory's archive
   * put where the model goes) is refused with its size, before it is read into the TaskManager's
   * heap. Raise it with the JVM property {@value #MAX_BYTES_PROPERTY} (bytes) for a bigger model.
   */
  public static final long DEFAULT_MAX_BYTES = 512L * 1024 * 1024;

  public static final String MAX_BYTES_PROPERTY = "vigil.model.max-bytes";

  private ModelLoader() {}

  /** The cap on a model file's size: {@value #MAX_BYTES_PROPERTY}, or {@link #DEFAULT_MAX_BYTES}. */
  public static long maxBytes() {
    String v = System.getProperty(MAX_BYTES_PROPERTY);
    if (v == null || v.isBlank()) {
      return DEFAULT_MAX_BYTES;
    }
    try {
      long n = Long.parseLong(v.trim());
      if (n > 0) {
        return n;
      }
    } catch (NumberFormatException e) {
      // refused below, with the value
    }
    throw new IllegalArgumentException("JVM property " + MAX_BYTES_PROPERTY + "='" + v
        + "' is not a positive number of bytes");
  }

  /**
   * Loads {@code file} as model {@code name}.
   *
   * @param expectedInputs the feature names the spec says the model reads, in order; the model's
   *     own input names must be exactly these
   * @throws ModelException the file is missing, unreadable, of an unknown or unsupported format,
   *     or its inputs differ from {@code expectedInputs}
   */
  public static Scorer load(Path file, String name, List<String> expectedInputs)
      throws ModelException {
    return load(file, read(file), name, expectedInputs);
  }

  /**
   * Loads {@code bytes}, the content of {@code file} (already read: the watcher hashes them first;
   * a bundled resource has no file of its own). {@code file} gives the format and names the model
   * in messages.
   */
  public static Scorer load(Path file, byte[] bytes, String name, List<String> expectedInputs)
      throws ModelException {
    if (name == null || name.isBlank()) {
      throw new ModelException(file, "the model name is empty; pass the spec's model.name");
    }
    if (expectedInputs == null || expectedInputs.isEmpty()) {
      throw new ModelException(
          file, "no expected inputs were given; pass the spec's model.inputs (default: every feature)");
    }
    Scorer model = loadUnchecked(file, bytes, name, expectedInputs);
    try {
      checkScoresAreProbabilities(file, model);
    } catch (ModelException e) {
      model.close();
      throw e;
    }
    return model;
  }

  /**
   * Refuses a model whose scores are not probabilities: the thresholds are probabilities, so a
   * margin model (XGBoost {@code binary:logitraw}, {@code reg:squarederror}) would be compared on
   * the wrong scale and approve or decline by accident. Then the canary: a vector of zeros (and,
   * for XGBoost, which has missing values, one of missing values: what an entity's first event
   * looks like) must score a finite probability, and must not throw; a model that fails either never scores a record (a new file is refused and
   * the current model keeps scoring).
   */
  static void checkScoresAreProbabilities(Path file, Scorer model) throws ModelException {
    if (model instanceof XGBoostJsonModel x && !x.scoresAreProbabilities()) {
      throw new ModelException(file, "objective \"" + x.objective() + "\" scores margins, not"
          + " probabilities in [0, 1], and Vigil's thresholds are probabilities; train with"
          + " binary:logistic (or reg:logistic)");
    }
    int n = model.info().inputs().size();
    canary(file, model, new double[n], "all inputs 0");
    if (model instanceof XGBoostJsonModel) {
      // Trees route missing values to a default child, so missing inputs must score too. An ONNX
      // graph may have no notion of missing (NaN in, NaN out): its events with null features
      // become model_error dead letters in the job, never approvals.
      double[] missing = new double[n];
      java.util.Arrays.fill(missing, Double.NaN);
      canary(file, model, missing, "all inputs missing");
    }
  }

  private static void canary(Path file, Scorer model, double[] inputs, String what)
      throws ModelException {
    double score;
    try {
      score = model.score(inputs);
    } catch (RuntimeException e) {
      throw new ModelException(file, "the canary vector (" + what + ") failed to score: "
          + e.getClass().getName() + ": " + e.getMessage());
    }
    if (!Thresholds.isProbability(score)) {
      throw new ModelException(file, "the canary vector (" + what + ") scored " + score
          + ", not a probability in [0, 1]");
    }
  }

  private static Scorer loadUnchecked(Path file, byte[] bytes, String name,
      List<String> expectedInputs) throws ModelException {
    String version = version(name, bytes);
    String kind = kindOf(file);
    return switch (kind) {
      case XGBoostJsonModel.KIND -> {
        XGBoostJsonModel model = XGBoostJsonModel.parse(file, bytes, name, version);
        checkInputs(file, "learner.feature_names", model.info().inputs(), expectedInputs);
        yield model;
      }
      case OnnxModel.KIND -> {
        OnnxModel model = OnnxModel.load(file, bytes, name, version);
        try {
          checkInputs(file, model.inputsSource(), model.info().inputs(), expectedInputs);
        } catch (ModelException e) {
          model.close();
          throw e;
        }
        yield model;
      }
      default -> throw new IllegalStateException(kind);
    };
  }

  /** {@code xgboost} for {@code *.json}, {@code onnx} for {@code *.onnx}. */
  static String kindOf(Path file) throws ModelException {
    String fileName = file.getFileName().toString().toLowerCase(Locale.ROOT);
    if (fileName.endsWith(".json")) {
      return XGBoostJsonModel.KIND;
    }
    if (fileName.endsWith(".onnx")) {
      return OnnxModel.KIND;
    }
    throw new ModelException(
        file,
        "unknown model format; name the file *.json (an XGBoost JSON model, saved with"
            + " Booster.saveModel(\"model.json\")) or *.onnx (an ONNX model)");
  }

  /** Whether {@code file}'s name is one {@link #load} understands. */
  public static boolean isModelFile(Path file) {
    try {
      kindOf(file);
      return true;
    } catch (ModelException e) {
      return false;
    }
  }

  static byte[] read(Path file) throws ModelException {
    if (!Files.exists(file)) {
      throw new ModelException(file, "the file does not exist; check the path (and the mount)");
    }
    if (!Files.isRegularFile(file)) {
      throw new ModelException(file, "not a regular file; point at the model file itself");
    }
    try {
      long size = Files.size(file);
      long max = maxBytes();
      if (size > max) {
        throw new ModelException(file, "is " + size + " bytes, over the " + max + "-byte cap on a"
            + " model file; check that it is the model (and not, say, a data file), or raise the"
            + " cap with -D" + MAX_BYTES_PROPERTY + "=<bytes> in the TaskManager's JVM options");
      }
      return Files.readAllBytes(file);
    } catch (IOException e) {
      throw new ModelException(
          file, "cannot be read (" + e + "); check its permissions", e);
    }
  }

  /** {@code name@<12 hex digits of SHA-256(bytes)>}. */
  public static String version(String name, byte[] bytes) {
    return name + "@" + sha256Hex(bytes).substring(0, VERSION_HEX_DIGITS);
  }

  static String sha256Hex(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** Refuses unless {@code actual} equals {@code expected}, naming missing and extra features. */
  static void checkInputs(Path file, String source, List<String> actual, List<String> expected)
      throws ModelException {
    if (actual.equals(expected)) {
      return;
    }
    Set<String> actualSet = new LinkedHashSet<>(actual);
    Set<String> expectedSet = new LinkedHashSet<>(expected);
    List<String> missing = new ArrayList<>(expectedSet);
    missing.removeAll(actualSet);
    List<String> extra = new ArrayList<>(actualSet);
    extra.removeAll(expectedSet);
    StringBuilder why = new StringBuilder("its inputs (" + source + ") do not match the spec's model inputs");
    if (!missing.isEmpty()) {
      why.append("; missing (in the spec, not in the model): ").append(String.join(", ", missing));
    }
    if (!extra.isEmpty()) {
      why.append("; extra (in the model, not in the spec): ").append(String.join(", ", extra));
    }
    if (missing.isEmpty() && extra.isEmpty()) {
      if (actualSet.size() != actual.size()) {
        why.append("; the model names a feature twice: ").append(actual);
      } else {
        why.append("; same features in a different order: model ")
            .append(actual)
            .append(", spec ")
            .append(expected);
      }
    }
    why.append(
        ". Fix: retrain with the spec's features in spec order (or set model.inputs in the spec to"
            + " what the model was trained on).");
    throw new ModelException(file, why.toString());
  }
}
