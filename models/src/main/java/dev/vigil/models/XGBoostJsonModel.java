package dev.vigil.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * An XGBoost model in XGBoost's JSON format ({@code Booster.saveModel("model.json")}, XGBoost 2.x
 * and 3.x), evaluated in pure Java: no native library, no allocation per score.
 *
 * <p>Supported: the {@code gbtree} booster with numerical splits and one output (any number of
 * trees, {@code num_parallel_tree} included), objectives {@code binary:logistic} / {@code
 * reg:logistic} (the score is the sigmoid of the margin), {@code binary:logitraw} and {@code
 * reg:squarederror} (the score is the margin). Anything else (dart, gblinear, categorical splits,
 * multi-class, multi-target) is refused when loading.
 *
 * <p>Evaluation follows XGBoost's CPU predictor: inputs are rounded to {@code float}, a NaN input
 * goes to the node's default child, otherwise {@code x < split_condition} goes left; the margin is
 * the base margin plus the trees' leaf values, accumulated in {@code float} in tree order. Only NaN
 * is missing (XGBoost's default {@code missing=NaN}).
 */
public final class XGBoostJsonModel implements Scorer {
  static final String KIND = "xgboost";

  private static final ObjectMapper JSON = new ObjectMapper();

  private final ModelInfo info;
  private final String objective;
  private final float baseMargin;
  private final boolean sigmoid;
  // All trees' nodes in one set of arrays; a tree's nodes are contiguous, children are absolute.
  private final int[] roots;
  // Per node, packed for locality: [feature (-1: leaf), left, right, default child] at 4 * node.
  private final int[] nodes;
  private final float[] value; // split condition, or the leaf value

  private XGBoostJsonModel(
      ModelInfo info,
      String objective,
      float baseMargin,
      int[] roots,
      int[] feature,
      float[] value,
      int[] left,
      int[] right,
      int[] missing) {
    this.info = info;
    this.objective = objective;
    this.baseMargin = baseMargin;
    this.sigmoid = objective.equals("binary:logistic") || objective.equals("reg:logistic");
    this.roots = roots;
    this.value = value;
    this.nodes = new int[feature.length * 4];
    for (int i = 0; i < feature.length; i++) {
      nodes[4 * i] = feature[i];
      nodes[4 * i + 1] = left[i];
      nodes[4 * i + 2] = right[i];
      nodes[4 * i + 3] = missing[i];
    }
  }

  @Override
  public ModelInfo info() {
    return info;
  }

  /** True when its scores are probabilities (the sigmoid of the margin), false for margins. */
  public boolean scoresAreProbabilities() {
    return sigmoid;
  }

  /** The model's objective, e.g. {@code binary:logistic}. */
  public String objective() {
    return objective;
  }

  /** How many trees the model sums. */
  public int trees() {
    return roots.length;
  }

  /** The margin before the objective's transform (log-odds for {@code binary:logistic}). */
  public double margin(double[] inputs) {
    if (inputs.length != info.inputs().size()) {
      throw new IllegalArgumentException(
          info.version() + " takes " + info.inputs().size() + " inputs " + info.inputs()
              + ", got " + inputs.length);
    }
    final int[] nodes = this.nodes;
    final float[] value = this.value;
    float sum = baseMargin;
    for (int root : roots) {
      int n = root;
      int f;
      while ((f = nodes[4 * n]) >= 0) {
        double x = inputs[f];
        int child = Double.isNaN(x) ? 3 : (float) x < value[n] ? 1 : 2;
        n = nodes[4 * n + child];
      }
      sum += value[n];
    }
    return sum;
  }

  @Override
  public double score(double[] inputs) {
    double m = margin(inputs);
    return sigmoid ? 1.0 / (1.0 + Math.exp(-m)) : m;
  }

  @Override
  public String toString() {
    return info.version() + " (xgboost " + objective + ", " + roots.length + " trees)";
  }

  /**
   * Parses an XGBoost JSON model.
   *
   * @param file where the bytes came from (for messages)
   * @throws ModelException not JSON, not an XGBoost model, or an unsupported one
   */
  public static XGBoostJsonModel parse(Path file, byte[] bytes, String name, String version)
      throws ModelException {
    JsonNode root;
    try {
      root = JSON.readTree(bytes);
    } catch (IOException e) {
      throw new ModelException(
          file,
          "not valid JSON (" + (e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.toString()) + "); an XGBoost model must be saved with"
              + " Booster.saveModel(\"model.json\") (a name ending in .json; other names get binary UBJSON)"
              + " and copied completely",
          e);
    }
    if (root == null || !root.path("learner").isObject()) {
      throw new ModelException(
          file,
          "not an XGBoost JSON model (no \"learner\" object); save the model with"
              + " Booster.saveModel(\"model.json\") (XGBoost 2.x or 3.x)");
    }
    JsonNode learner = root.get("learner");

    List<String> inputs = new ArrayList<>();
    for (JsonNode n : learner.path("feature_names")) {
      inputs.add(n.asText());
    }
    if (inputs.isEmpty()) {
      throw new ModelException(
          file,
          "the model has no feature names (learner.feature_names is empty); set them before"
              + " saving (booster.setFeatureNames(...) or DMatrix feature_names) to the spec's model"
              + " inputs in order");
    }
    int index = 0;
    for (JsonNode t : learner.path("feature_types")) {
      if (t.asText().equals("c")) {
        throw new ModelException(
            file,
            "feature " + inputs.get(index) + " is categorical; categorical splits are not"
                + " supported: encode it as a number and retrain");
      }
      index++;
    }

    JsonNode params = learner.path("learner_model_param");
    int numClass = intParam(params, "num_class", 0);
    int numTarget = intParam(params, "num_target", 1);
    if (numClass > 1 || numTarget > 1) {
      throw new ModelException(
          file,
          "multi-class/multi-output models are not supported (num_class=" + numClass
              + ", num_target=" + numTarget + "); train one binary:logistic model");
    }
    int numFeature = intParam(params, "num_feature", inputs.size());
    if (numFeature != inputs.size()) {
      throw new ModelException(
          file,
          "learner_model_param.num_feature is " + numFeature + " but there are " + inputs.size()
              + " feature names; the file is inconsistent, save it again");
    }

    String objective = learner.path("objective").path("name").asText("");
    float baseScore = baseScore(file, params.path("base_score"));
    float baseMargin =
        switch (objective) {
          case "binary:logistic", "reg:logistic" -> {
            if (!(baseScore > 0 && baseScore < 1)) {
              throw new ModelException(
                  file, "base_score " + baseScore + " is not a probability in (0, 1) for " + objective);
            }
            yield (float) -Math.log(1.0 / baseScore - 1.0);
          }
          // XGBoost 2.x/3.x keep logitraw's base_score in margin space (ProbToMargin is the identity).
          case "binary:logitraw", "reg:squarederror" -> baseScore;
          default -> throw new ModelException(
              file,
              "objective \"" + objective + "\" is not supported; use binary:logistic (scores are"
                  + " probabilities), binary:logitraw or reg:squarederror");
        };

    JsonNode booster = learner.path("gradient_booster");
    String boosterName = booster.path("name").asText("");
    if (!boosterName.equals("gbtree")) {
      throw new ModelException(
          file,
          "booster \"" + boosterName + "\" is not supported; only gbtree is (train with"
              + " booster=gbtree; dart and gblinear are not evaluated)");
    }
    JsonNode model = booster.path("model");
    for (JsonNode group : model.path("tree_info")) {
      if (group.asInt() != 0) {
        throw new ModelException(file, "trees for several output groups (multi-class) are not supported");
      }
    }
    JsonNode trees = model.path("trees");
    if (!trees.isArray() || trees.isEmpty()) {
      throw new ModelException(file, "the model has no trees (gradient_booster.model.trees is empty)");
    }

    int total = 0;
    for (JsonNode tree : trees) {
      total += tree.path("left_children").size();
    }
    int[] roots = new int[trees.size()];
    int[] feature = new int[total];
    float[] value = new float[total];
    int[] left = new int[total];
    int[] right = new int[total];
    int[] missing = new int[total];
    int offset = 0;
    int t = 0;
    for (JsonNode tree : trees) {
      String where = "tree " + t;
      int leafVector = intParam(tree.path("tree_param"), "size_leaf_vector", 1);
      if (leafVector > 1) {
        throw new ModelException(file, where + " has vector leaves (multi-target); not supported");
      }
      JsonNode lc = array(file, tree, "left_children", where);
      int nodes = lc.size();
      JsonNode rc = array(file, tree, "right_children", where);
      JsonNode si = array(file, tree, "split_indices", where);
      JsonNode sc = array(file, tree, "split_conditions", where);
      JsonNode dl = array(file, tree, "default_left", where);
      for (JsonNode a : List.of(rc, si, sc, dl)) {
        if (a.size() != nodes) {
          throw new ModelException(
              file, where + ": the node arrays have different lengths; the file is damaged, save it again");
        }
      }
      for (JsonNode st : tree.path("split_type")) {
        if (st.asInt() != 0) {
          throw new ModelException(
              file, where + " has categorical splits; not supported: encode categories as numbers and retrain");
        }
      }
      roots[t] = offset;
      for (int i = 0; i < nodes; i++) {
        int g = offset + i;
        int l = lc.get(i).asInt();
        value[g] = (float) sc.get(i).asDouble();
        if (l == -1) {
          feature[g] = -1;
          continue;
        }
        int r = rc.get(i).asInt();
        int f = si.get(i).asInt();
        if (l <= i || l >= nodes || r <= i || r >= nodes) {
          throw new ModelException(
              file, where + " node " + i + " has children outside the tree; the file is damaged");
        }
        if (f < 0 || f >= inputs.size()) {
          throw new ModelException(
              file, where + " node " + i + " splits on feature index " + f + " but the model has "
                  + inputs.size() + " features");
        }
        feature[g] = f;
        left[g] = offset + l;
        right[g] = offset + r;
        JsonNode d = dl.get(i);
        boolean defaultLeft = d.isBoolean() ? d.asBoolean() : d.asInt() != 0;
        missing[g] = defaultLeft ? left[g] : right[g];
      }
      offset += nodes;
      t++;
    }
    ModelInfo info = new ModelInfo(name, version, KIND, inputs);
    return new XGBoostJsonModel(info, objective, baseMargin, roots, feature, value, left, right, missing);
  }

  /** {@code "5E-1"}, {@code "[5E-1]"} (XGBoost 3.x) or a number. */
  private static float baseScore(Path file, JsonNode node) throws ModelException {
    if (node.isMissingNode() || node.isNull()) {
      return 0.5f;
    }
    if (node.isNumber()) {
      return node.floatValue();
    }
    String text = node.asText().trim();
    if (text.startsWith("[") && text.endsWith("]")) {
      text = text.substring(1, text.length() - 1).trim();
    }
    if (text.contains(",")) {
      throw new ModelException(
          file, "base_score " + node.asText() + " has several values (multi-output); not supported");
    }
    try {
      return Float.parseFloat(text);
    } catch (NumberFormatException e) {
      throw new ModelException(
          file, "learner_model_param.base_score \"" + node.asText() + "\" is not a number", e);
    }
  }

  private static int intParam(JsonNode params, String key, int otherwise) {
    JsonNode v = params.get(key);
    if (v == null || v.isNull()) {
      return otherwise;
    }
    String text = v.asText().trim();
    if (text.startsWith("[") && text.endsWith("]")) {
      text = text.substring(1, text.length() - 1).trim();
    }
    try {
      return Integer.parseInt(text);
    } catch (NumberFormatException e) {
      return otherwise;
    }
  }

  private static JsonNode array(Path file, JsonNode tree, String key, String where)
      throws ModelException {
    JsonNode a = tree.get(key);
    if (a == null || !a.isArray()) {
      throw new ModelException(
          file, where + " has no \"" + key + "\" array; not an XGBoost 2.x/3.x JSON model (save it"
              + " again with a current XGBoost)");
    }
    return a;
  }
}
