package dev.streamtune.core.learn;

import java.util.Arrays;
import java.util.Locale;

/**
 * Average thresholded confidence (ATC; Garg et al., "Leveraging unlabeled data to predict out-of-distribution performance",
 * ICLR 2022): on a labelled reference set the model did not train on, the confidence threshold {@code t} above which the share
 * of answers equals the reference accuracy; the estimated accuracy of unlabelled answers is then their share above {@code t}.
 * Where averaging calibrated confidences (CBPE, {@link ConfidenceCalibration}) assumes that a confidence means the same right
 * share under the shift, ATC only assumes that the share of answers above a confidence level falls with the accuracy.
 * Immutable and thread-safe.
 */
public final class ThresholdedConfidence {
  private final double threshold;
  private final double referenceAccuracy;
  private final int samples;

  private ThresholdedConfidence(double threshold, double referenceAccuracy, int samples) {
    this.threshold = threshold;
    this.referenceAccuracy = referenceAccuracy;
    this.samples = samples;
  }

  /** Learns the threshold from the reference answers: {@code confidence[i]} and whether answer {@code i} was right. */
  public static ThresholdedConfidence fit(double[] confidence, boolean[] correct) {
    if (confidence.length != correct.length || confidence.length == 0) {
      throw new IllegalArgumentException("need one outcome per confidence and at least one: " + confidence.length + " and "
          + correct.length);
    }
    int n = confidence.length;
    int right = 0;
    for (int i = 0; i < n; i++) {
      if (!(confidence[i] >= 0 && confidence[i] <= 1)) {
        throw new IllegalArgumentException("confidence outside [0, 1]: " + confidence[i]);
      }
      right += correct[i] ? 1 : 0;
    }
    double[] sorted = confidence.clone();
    Arrays.sort(sorted);
    // the wrong share of answers at or below t, the right share above it
    int below = n - right;
    double t = below == 0 ? Math.nextDown(sorted[0]) : sorted[below - 1];
    return new ThresholdedConfidence(t, right / (double) n, n);
  }

  /** The expected accuracy of answers given with these confidences: their share above the threshold; NaN for none. */
  public double estimate(double[] confidences) {
    if (confidences.length == 0) {
      return Double.NaN;
    }
    int above = 0;
    for (double c : confidences) {
      above += c > threshold ? 1 : 0;
    }
    return above / (double) confidences.length;
  }

  public double threshold() {
    return threshold;
  }

  public double referenceAccuracy() {
    return referenceAccuracy;
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "threshold %.4f from %d reference answers (accuracy %.4f)", threshold, samples,
        referenceAccuracy);
  }
}
