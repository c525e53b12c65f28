package dev.streamtune.core.learn;

import java.util.Arrays;
import java.util.Locale;

/**
 * A model's top-class confidence mapped to the probability that its answer is right, learnt from a labelled reference set the
 * model did not train on; the basis of a confidence-based performance estimate (CBPE): the expected accuracy of unlabelled
 * answers is the mean of their calibrated confidences.
 *
 * <p>The raw confidence is kept when it is already calibrated on the reference (expected calibration error, ECE, at most
 * {@code maxEce}); otherwise the map is the isotonic regression of correctness on confidence (pool-adjacent-violators: the
 * non-decreasing step function closest to the 0/1 outcomes in squared error), interpolated linearly between its steps. Immutable
 * and thread-safe.
 */
public final class ConfidenceCalibration {
  /** The calibration error up to which the raw confidence is kept, in the evaluator and in {@code eval}. */
  public static final double DEFAULT_MAX_ECE = 0.02;
  /** ECE bins: equal-width over [0, 1]. */
  static final int BINS = 10;

  private final double[] xs;
  private final double[] ys;
  private final boolean isotonic;
  private final double rawEce;
  private final int samples;

  private ConfidenceCalibration(double[] xs, double[] ys, boolean isotonic, double rawEce, int samples) {
    this.xs = xs;
    this.ys = ys;
    this.isotonic = isotonic;
    this.rawEce = rawEce;
    this.samples = samples;
  }

  /**
   * Learns the map from the reference answers: {@code confidence[i]} in [0, 1] and whether answer {@code i} was right.
   *
   * @param maxEce the calibration error up to which the raw confidence is kept
   */
  public static ConfidenceCalibration fit(double[] confidence, boolean[] correct, double maxEce) {
    if (confidence.length != correct.length || confidence.length == 0) {
      throw new IllegalArgumentException("need one outcome per confidence and at least one: " + confidence.length + " and "
          + correct.length);
    }
    for (double c : confidence) {
      if (!(c >= 0 && c <= 1)) {
        throw new IllegalArgumentException("confidence outside [0, 1]: " + c);
      }
    }
    double ece = ece(confidence, correct);
    if (ece <= maxEce) {
      return new ConfidenceCalibration(null, null, false, ece, confidence.length);
    }
    int n = confidence.length;
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> Double.compare(confidence[a], confidence[b]));
    // pool adjacent violators over the outcomes sorted by confidence; equal confidences form one block from the start
    double[] sum = new double[n];
    double[] weight = new double[n];
    double[] lo = new double[n];
    double[] hi = new double[n];
    int blocks = 0;
    for (int k = 0; k < n; k++) {
      int i = order[k];
      double x = confidence[i];
      double y = correct[i] ? 1 : 0;
      if (blocks > 0 && hi[blocks - 1] == x) {
        sum[blocks - 1] += y;
        weight[blocks - 1]++;
      } else {
        sum[blocks] = y;
        weight[blocks] = 1;
        lo[blocks] = x;
        hi[blocks] = x;
        blocks++;
      }
      while (blocks > 1 && sum[blocks - 2] / weight[blocks - 2] >= sum[blocks - 1] / weight[blocks - 1]) {
        sum[blocks - 2] += sum[blocks - 1];
        weight[blocks - 2] += weight[blocks - 1];
        hi[blocks - 2] = hi[blocks - 1];
        blocks--;
      }
    }
    // each block is a flat step over [lo, hi]; the map interpolates between consecutive blocks' centres
    double[] xs = new double[blocks];
    double[] ys = new double[blocks];
    for (int b = 0; b < blocks; b++) {
      xs[b] = (lo[b] + hi[b]) / 2;
      ys[b] = sum[b] / weight[b];
    }
    return new ConfidenceCalibration(xs, ys, true, ece, n);
  }

  /** The probability that an answer given with {@code confidence} is right. */
  public double apply(double confidence) {
    if (!isotonic) {
      return confidence;
    }
    int i = Arrays.binarySearch(xs, confidence);
    if (i >= 0) {
      return ys[i];
    }
    int hiIdx = -i - 1;
    if (hiIdx == 0) {
      return ys[0];
    }
    if (hiIdx == xs.length) {
      return ys[xs.length - 1];
    }
    double t = (confidence - xs[hiIdx - 1]) / (xs[hiIdx] - xs[hiIdx - 1]);
    return ys[hiIdx - 1] + t * (ys[hiIdx] - ys[hiIdx - 1]);
  }

  /** The expected accuracy of answers given with these confidences: the mean of their calibrated values; NaN for none. */
  public double estimate(double[] confidences) {
    if (confidences.length == 0) {
      return Double.NaN;
    }
    double s = 0;
    for (double c : confidences) {
      s += apply(c);
    }
    return s / confidences.length;
  }

  /** Whether the map is the isotonic fit (false: the raw confidence was calibrated enough). */
  public boolean isotonic() {
    return isotonic;
  }

  /** The raw confidence's expected calibration error on the reference. */
  public double rawEce() {
    return rawEce;
  }

  public int samples() {
    return samples;
  }

  /**
   * Expected calibration error: over {@value #BINS} equal-width confidence bins, the share-weighted gap between mean confidence
   * and accuracy.
   */
  public static double ece(double[] confidence, boolean[] correct) {
    double[] conf = new double[BINS];
    double[] right = new double[BINS];
    int[] count = new int[BINS];
    for (int i = 0; i < confidence.length; i++) {
      int b = Math.min(BINS - 1, (int) (confidence[i] * BINS));
      conf[b] += confidence[i];
      right[b] += correct[i] ? 1 : 0;
      count[b]++;
    }
    double e = 0;
    for (int b = 0; b < BINS; b++) {
      if (count[b] > 0) {
        e += Math.abs(conf[b] - right[b]) / confidence.length;
      }
    }
    return e;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%s on %d reference answers (raw ECE %.4f)", isotonic ? "isotonic" : "raw confidence",
        samples, rawEce);
  }
}
