package dev.vigil.models.demo;

import dev.vigil.models.Scorer;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Measures what one score of the demo model costs (ns per score, single thread, warm), over
 * feature vectors shaped like the demo data (about 10% missing). A measurement, not a test:
 * {@code java -cp … dev.vigil.models.demo.ScoringCost [scoresPerRound]}.
 */
public final class ScoringCost {
  private ScoringCost() {}

  public static void main(String[] args) throws Exception {
    int perRound = args.length > 0 ? Integer.parseInt(args[0]) : 2_000_000;
    int n = DemoModel.INPUTS.size();
    SplittableRandom random = new SplittableRandom(1);
    double[][] rows = new double[4096][n];
    for (double[] row : rows) {
      row[0] = random.nextInt(400);
      row[1] = random.nextInt(2_000_000);
      row[2] = random.nextInt(100_000);
      row[3] = random.nextInt(12);
      row[4] = random.nextInt(5 * 86_400_000);
      row[5] = random.nextLong(60L * 86_400_000);
      row[6] = random.nextInt(40);
      for (int i = 0; i < n; i++) {
        if (random.nextDouble() < 0.1) {
          row[i] = Double.NaN;
        }
      }
    }
    try (Scorer model = DemoModel.load(DemoModel.INPUTS)) {
      double sink = 0;
      double[] nsPerScore = new double[7];
      for (int round = -3; round < nsPerScore.length; round++) { // 3 warm-up rounds
        long start = System.nanoTime();
        for (int i = 0; i < perRound; i++) {
          sink += model.score(rows[i & 4095]);
        }
        long elapsed = System.nanoTime() - start;
        if (round >= 0) {
          nsPerScore[round] = elapsed / (double) perRound;
        }
      }
      Arrays.sort(nsPerScore);
      System.out.printf(
          "%s: %.0f ns per score (median of %d rounds of %,d; min %.0f, max %.0f) [checksum %.3f]%n",
          model, nsPerScore[nsPerScore.length / 2], nsPerScore.length, perRound, nsPerScore[0],
          nsPerScore[nsPerScore.length - 1], sink);
    }
  }
}
