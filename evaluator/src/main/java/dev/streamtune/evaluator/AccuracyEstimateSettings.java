package dev.streamtune.evaluator;

/**
 * The champion's accuracy estimate before labels ({@code streamtune.evaluator.estimate.*}): it is taken over the last
 * {@code window} inputs the feature check samples, and, with {@code holdToPrior}, held to the held-out reference's class prior
 * once those inputs have lain far from the reference for a whole window in a row ({@code core} {@code ShiftAwareEstimate}).
 * The hold assumes the window's class mix is near the reference's: traffic that comes in runs of one class as long as the
 * window needs a longer window, or the hold off. Immutable.
 */
public record AccuracyEstimateSettings(int window, boolean holdToPrior) {
  public static final String WINDOW_KEY = "streamtune.evaluator.estimate.window";
  public static final String HOLD_KEY = "streamtune.evaluator.estimate.hold-to-prior";

  public AccuracyEstimateSettings {
    if (window < 50) {
      throw new IllegalArgumentException(WINDOW_KEY + " must be at least 50, was " + window);
    }
  }
}
