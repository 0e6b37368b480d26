package dev.vigil.jobs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * Hand-written XGBoost JSON models (binary:logistic, one tree): enough for the job's tests, which
 * check where scores go, not what a trained model thinks.
 */
final class TestModels {
  private TestModels() {}

  /**
   * One tree: {@code inputs[0] < 2} → leaf {@code low}, else leaf {@code high} (missing → left).
   * Different leaves are different bytes, so a different model version.
   */
  static Path write(Path file, List<String> inputs, double low, double high) throws IOException {
    String names = inputs.stream().map(n -> "\"" + n + "\"").collect(Collectors.joining(","));
    String types = inputs.stream().map(n -> "\"float\"").collect(Collectors.joining(","));
    String json = String.format(Locale.ROOT, """
        {"learner": {
          "attributes": {},
          "feature_names": [%s],
          "feature_types": [%s],
          "gradient_booster": {
            "name": "gbtree",
            "model": {
              "gbtree_model_param": {"num_trees": "1", "num_parallel_tree": "1"},
              "tree_info": [0],
              "trees": [{
                "id": 0,
                "tree_param": {"num_nodes": "3", "num_feature": "%d", "size_leaf_vector": "1"},
                "left_children": [1, -1, -1],
                "right_children": [2, -1, -1],
                "parents": [2147483647, 0, 0],
                "split_indices": [0, 0, 0],
                "split_conditions": [2.0, %s, %s],
                "split_type": [0, 0, 0],
                "default_left": [1, 0, 0],
                "base_weights": [0.0, %s, %s],
                "loss_changes": [1.0, 0.0, 0.0],
                "sum_hessian": [10.0, 5.0, 5.0],
                "categories": [], "categories_nodes": [], "categories_segments": [], "categories_sizes": []
              }]
            }
          },
          "learner_model_param": {"base_score": "5E-1", "num_class": "0", "num_feature": "%d", "num_target": "1"},
          "objective": {"name": "binary:logistic", "reg_loss_param": {"scale_pos_weight": "1"}}
        },
        "version": [2, 1, 0]}
        """, names, types, inputs.size(), low, high, low, high, inputs.size());
    Files.createDirectories(file.toAbsolutePath().getParent());
    return Files.writeString(file, json);
  }

  /**
   * As {@link #write}, with the high leaf (inputs[0] >= 2) NaN: the canary (missing inputs, zeros)
   * scores the low leaf, real inputs from 2 score NaN (a broken model that loads).
   */
  static Path writeNaNWhenHigh(Path file, List<String> inputs, double low) throws IOException {
    write(file, inputs, low, 12345.0);
    return Files.writeString(file, Files.readString(file).replace("12345.0", "\"NaN\""));
  }
}
