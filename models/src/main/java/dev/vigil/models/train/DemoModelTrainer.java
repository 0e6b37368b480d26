package dev.vigil.models.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.vigil.models.ModelLoader;
import dev.vigil.models.Scorer;
import dev.vigil.models.demo.DemoModel;
import java.io.BufferedReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import ml.dmlc.xgboost4j.java.Booster;
import ml.dmlc.xgboost4j.java.DMatrix;
import ml.dmlc.xgboost4j.java.XGBoost;

/**
 * Trains the demo model: XGBoost {@code binary:logistic} with fixed parameters and seed on one
 * thread (so the same data gives the same file), on the earliest 80% of the feature vectors in
 * event-time order; prints precision and recall at 0.5 on the latest 20%.
 *
 * <pre>DemoModelTrainer --features features.jsonl --labels labels.csv --out fraud-demo.json
 *                  [--inputs f1,f2,...] [--trees 60] [--depth 4] [--eta 0.3] [--seed 42]</pre>
 *
 * <p>{@code features.jsonl} is what {@code vigil features backfill} writes ({@code
 * {"transaction_id":…,"event_time":…,"features":{…}}}, nulls allowed: missing values);
 * {@code labels.csv} has a header and the columns {@code transaction_id,fraud[,…]}. Needs
 * xgboost4j on the classpath (an optional dependency of vigil-models).
 */
public final class DemoModelTrainer {
  private DemoModelTrainer() {}

  public static void main(String[] args) throws Exception {
    Map<String, String> options = new HashMap<>();
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!args[i].startsWith("--")) {
        usage("unexpected " + args[i]);
      }
      options.put(args[i].substring(2), args[i + 1]);
    }
    if (args.length % 2 != 0) {
      usage("option " + args[args.length - 1] + " has no value");
    }
    for (String required : List.of("features", "labels", "out")) {
      if (!options.containsKey(required)) {
        usage("--" + required + " is required");
      }
    }
    Path out = Path.of(options.get("out"));
    if (!out.getFileName().toString().endsWith(".json")) {
      usage("--out must end in .json (XGBoost picks the JSON format from the name)");
    }
    List<String> inputs =
        options.containsKey("inputs") ? List.of(options.get("inputs").split(",")) : DemoModel.INPUTS;
    int trees = Integer.parseInt(options.getOrDefault("trees", "60"));

    Map<String, String> patterns = new HashMap<>();
    Map<String, Boolean> labels = readLabels(Path.of(options.get("labels")), patterns);
    Data data = readFeatures(Path.of(options.get("features")), inputs, labels);
    int columns = inputs.size();
    int rows = data.rows;
    int trainRows = (int) (rows * 0.8);

    DMatrix train = new DMatrix(Arrays.copyOf(data.x, trainRows * columns), trainRows, columns, Float.NaN);
    train.setLabel(Arrays.copyOf(data.y, trainRows));
    DMatrix test =
        new DMatrix(Arrays.copyOfRange(data.x, trainRows * columns, rows * columns), rows - trainRows, columns, Float.NaN);
    Map<String, Object> params = new HashMap<>();
    params.put("objective", "binary:logistic");
    params.put("max_depth", Integer.parseInt(options.getOrDefault("depth", "4")));
    params.put("eta", Double.parseDouble(options.getOrDefault("eta", "0.3")));
    params.put("seed", Integer.parseInt(options.getOrDefault("seed", "42")));
    params.put("nthread", 1);
    params.put("tree_method", "hist");
    params.put("eval_metric", "logloss");
    Booster booster = XGBoost.train(train, params, trees, new HashMap<>(), null, null);
    booster.setFeatureNames(inputs.toArray(String[]::new));
    Files.createDirectories(out.toAbsolutePath().getParent());
    booster.saveModel(out.toString());

    float[][] predicted = booster.predict(test);
    long tp = 0;
    long fp = 0;
    long fn = 0;
    long positives = 0;
    Map<String, long[]> byPattern = new java.util.TreeMap<>(); // pattern -> {fraud, caught}
    for (int r = 0; r < predicted.length; r++) {
      String pattern = patterns.get(data.ids[trainRows + r]);
      if (pattern != null && data.y[trainRows + r] > 0.5f) {
        long[] counts = byPattern.computeIfAbsent(pattern, k -> new long[2]);
        counts[0]++;
        counts[1] += predicted[r][0] >= 0.5f ? 1 : 0;
      }
      boolean fraud = data.y[trainRows + r] > 0.5f;
      boolean flagged = predicted[r][0] >= 0.5f;
      positives += fraud ? 1 : 0;
      tp += fraud && flagged ? 1 : 0;
      fp += !fraud && flagged ? 1 : 0;
      fn += fraud && !flagged ? 1 : 0;
    }

    // The file as Vigil will score it: the pure-Java evaluator against XGBoost on the test rows.
    double maxError = 0;
    try (Scorer scorer = ModelLoader.load(out, DemoModel.NAME, inputs)) {
      double[] row = new double[columns];
      for (int r = 0; r < predicted.length; r++) {
        for (int c = 0; c < columns; c++) {
          row[c] = data.x[(trainRows + r) * columns + c];
        }
        maxError = Math.max(maxError, Math.abs(scorer.score(row) - predicted[r][0]));
      }
      System.out.printf(
          "DemoModelTrainer: %s, %d trees, depth %s, eta %s -> %s (%,d bytes)%n",
          scorer.info().version(), trees, params.get("max_depth"), params.get("eta"), out, Files.size(out));
    }
    System.out.printf(
        "train: %,d rows (%,d fraud); held-out latest 20%%: %,d rows (%,d fraud)%n",
        trainRows, countFraud(data.y, 0, trainRows), rows - trainRows, positives);
    System.out.printf(
        "held-out at 0.5: precision %.3f (%,d of %,d flagged), recall %.3f (%,d of %,d fraud)%n",
        tp / (double) Math.max(1, tp + fp), tp, tp + fp, tp / (double) Math.max(1, tp + fn), tp, positives);
    byPattern.forEach(
        (pattern, counts) ->
            System.out.printf(
                "  recall %-18s %.3f (%,d of %,d)%n", pattern, counts[1] / (double) counts[0], counts[1], counts[0]));
    System.out.printf("pure-Java scorer vs Booster.predict on the held-out rows: max |error| = %.3g%n", maxError);
    train.dispose();
    test.dispose();
    booster.dispose();
  }

  private static long countFraud(float[] y, int from, int to) {
    long n = 0;
    for (int i = from; i < to; i++) {
      n += y[i] > 0.5f ? 1 : 0;
    }
    return n;
  }

  private record Data(float[] x, float[] y, String[] ids, int rows) {}

  /** transaction_id to fraud; the optional third column (the pattern) goes into {@code patterns}. */
  static Map<String, Boolean> readLabels(Path file, Map<String, String> patterns) throws Exception {
    Map<String, Boolean> labels = new HashMap<>();
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String header = in.readLine();
      if (header == null || !header.startsWith("transaction_id,fraud")) {
        throw new IllegalArgumentException(file + ": the header must start with transaction_id,fraud, got " + header);
      }
      String line;
      while ((line = in.readLine()) != null) {
        String[] parts = line.split(",", 3);
        labels.put(parts[0], parts[1].equals("1") || parts[1].equalsIgnoreCase("true"));
        if (parts.length == 3) {
          patterns.put(parts[0], parts[2]);
        }
      }
    }
    return labels;
  }

  private static Data readFeatures(Path file, List<String> inputs, Map<String, Boolean> labels) throws Exception {
    ObjectMapper json = new ObjectMapper();
    int columns = inputs.size();
    float[] x = new float[1 << 16];
    float[] y = new float[1 << 12];
    String[] ids = new String[1 << 12];
    int rows = 0;
    try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      while ((line = in.readLine()) != null) {
        if (line.isBlank()) {
          continue;
        }
        JsonNode node = json.readTree(line);
        String id = node.path("transaction_id").asText();
        Boolean fraud = labels.get(id);
        if (fraud == null) {
          throw new IllegalArgumentException(file + ": transaction " + id + " has no label in the labels file");
        }
        JsonNode features = node.path("features");
        if ((rows + 1) * columns > x.length) {
          x = Arrays.copyOf(x, x.length * 2);
        }
        if (rows + 1 > y.length) {
          y = Arrays.copyOf(y, y.length * 2);
          ids = Arrays.copyOf(ids, ids.length * 2);
        }
        ids[rows] = id;
        for (int c = 0; c < columns; c++) {
          JsonNode v = features.get(inputs.get(c));
          if (v == null) {
            throw new IllegalArgumentException(
                file + ": line " + (rows + 1) + " has no feature " + inputs.get(c) + " (features: " + features + ")");
          }
          x[rows * columns + c] = v.isNull() ? Float.NaN : (float) v.asDouble();
        }
        y[rows] = fraud ? 1f : 0f;
        rows++;
      }
    }
    return new Data(x, y, ids, rows);
  }

  private static void usage(String problem) {
    System.err.println("DemoModelTrainer: " + problem);
    System.err.println(
        "usage: DemoModelTrainer --features features.jsonl --labels labels.csv --out model.json"
            + " [--inputs f1,f2,...] [--trees 60] [--depth 4] [--eta 0.3] [--seed 42]");
    System.exit(2);
  }
}
