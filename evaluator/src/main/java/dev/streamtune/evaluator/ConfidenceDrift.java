package dev.streamtune.evaluator;

/**
 * The label-free drift check on served confidences ({@code streamtune.evaluator.confidence.*}): per model version, the first
 * {@code reference} confidences form a reference sample, the last {@code recent} a sliding one, and every {@code every}
 * predictions a two-sample Kolmogorov–Smirnov test compares them; p &lt; {@code alpha} publishes a DATA drift signal. After a
 * signal the check waits until the recent window has fully turned over. Immutable.
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
