package dev.streamtune.evaluator;

/**
 * The label-free drift check on served confidences ({@code streamtune.evaluator.confidence.*}): per model version, the first
 * {@code reference} predictions form a reference sample, the last {@code recent} a sliding one, and every {@code every}
 * predictions a Kolmogorov–Smirnov test ranks each recent confidence among the reference confidences of its own predicted
 * class (so a change of class mix is no drift); p &lt; {@code alpha} publishes a DATA drift signal. The expected predictions
 * between false alarms are at least {@code every / alpha}. After a signal the check waits for a fresh reference. Immutable.
 */
public record ConfidenceDrift(boolean enabled, int reference, int recent, int every, double alpha) {
  public static final String NAME = "confidence-ks";

  public ConfidenceDrift {
    if (reference < 10 || recent < 10 || every < 1 || !(alpha > 0 && alpha < 1)) {
      throw new IllegalArgumentException("confidence drift needs reference >= 10, recent >= 10, every >= 1, 0 < alpha < 1; was "
          + reference + ", " + recent + ", " + every + ", " + alpha);
    }
  }
}
