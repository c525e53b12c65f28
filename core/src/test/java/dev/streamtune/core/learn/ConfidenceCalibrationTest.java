package dev.streamtune.core.learn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ConfidenceCalibrationTest {
  /** Answers of a model whose answer with confidence c is right with probability {@code c^power} (1: calibrated). */
  private static double[][] answers(int n, double power, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    double[] c = new double[n];
    double[] right = new double[n];
    for (int i = 0; i < n; i++) {
      c[i] = 0.1 + 0.9 * r.nextDouble();
      right[i] = r.nextDouble() < Math.pow(c[i], power) ? 1 : 0;
    }
    return new double[][] {c, right};
  }

  private static boolean[] bools(double[] xs) {
    boolean[] b = new boolean[xs.length];
    for (int i = 0; i < xs.length; i++) {
      b[i] = xs[i] == 1;
    }
    return b;
  }

  private static double mean(double[] xs) {
    double s = 0;
    for (double x : xs) {
      s += x;
    }
    return s / xs.length;
  }

  @Test
  void shouldPoolAdjacentViolatorsAndInterpolateBetweenSteps() {
    ConfidenceCalibration c = ConfidenceCalibration.fit(new double[] {0.1, 0.2, 0.3, 0.4}, new boolean[] {true, false, true, true},
        0.0);

    assertThat(c.isotonic()).isTrue();
    assertThat(c.apply(0.15)).isCloseTo(0.5, within(1e-12));
    assertThat(c.apply(0.35)).isCloseTo(1.0, within(1e-12));
    assertThat(c.apply(0.25)).isCloseTo(0.75, within(1e-12));
    assertThat(c.apply(0.0)).as("below the first step").isCloseTo(0.5, within(1e-12));
    assertThat(c.apply(1.0)).as("above the last").isCloseTo(1.0, within(1e-12));
  }

  @Test
  void shouldKeepTheRawConfidenceOfACalibratedModel() {
    double[][] ref = answers(5_000, 1, 1);
    ConfidenceCalibration c = ConfidenceCalibration.fit(ref[0], bools(ref[1]), 0.03);

    assertThat(c.isotonic()).as(c.toString()).isFalse();
    assertThat(c.apply(0.42)).isEqualTo(0.42);
  }

  @Test
  void shouldEstimateTheAccuracyOfAnOverconfidentModelWithoutLabels() {
    double[][] ref = answers(3_000, 3, 2);
    ConfidenceCalibration c = ConfidenceCalibration.fit(ref[0], bools(ref[1]), 0.03);
    // unlabelled answers of the same model on a shifted mix: lower confidences, so lower accuracy
    SplittableRandom r = new SplittableRandom(3);
    int n = 4_000;
    double[] conf = new double[n];
    int right = 0;
    for (int i = 0; i < n; i++) {
      conf[i] = 0.1 + 0.6 * r.nextDouble();
      right += r.nextDouble() < Math.pow(conf[i], 3) ? 1 : 0;
    }
    double truth = right / (double) n;

    assertThat(c.isotonic()).as(c.toString()).isTrue();
    assertThat(c.rawEce()).isGreaterThan(0.1);
    assertThat(mean(conf) - truth).as("the raw confidence overestimates").isGreaterThan(0.2);
    assertThat(c.estimate(conf)).as("estimate against the true accuracy %.3f", truth).isCloseTo(truth, within(0.02));
  }

  @Test
  void shouldRefuseConfidencesOutsideTheUnitInterval() {
    assertThatThrownBy(() -> ConfidenceCalibration.fit(new double[] {1.2}, new boolean[] {true}, 0.01))
        .hasMessageContaining("outside [0, 1]");
    assertThatThrownBy(() -> ConfidenceCalibration.fit(new double[] {}, new boolean[] {}, 0.01)).hasMessageContaining("at least one");
  }
}
