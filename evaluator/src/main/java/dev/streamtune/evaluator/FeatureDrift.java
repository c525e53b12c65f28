package dev.streamtune.evaluator;

/**
 * The label-free drift check on the champion's penultimate-layer features of served inputs
 * ({@code streamtune.evaluator.features.*}). Every {@code sampleEvery}-th input on {@code inputs} is run through the champion up
 * to its penultimate layer; the features are projected on {@code projections} fixed random directions; the first
 * {@code reference} projected inputs after a champion starts serving are its reference, the last {@code recent} a sliding
 * window, and every {@code every} sampled inputs a two-sample Kolmogorov–Smirnov test per direction compares them, at
 * {@code alpha / projections} each (Bonferroni). A rejection publishes a DATA drift signal {@value #NAME}; the next {@code reference}
 * sampled inputs then form a fresh reference, so a lasting shift is signalled once. Immutable.
 */
public record FeatureDrift(boolean enabled, int sampleEvery, int reference, int recent, int every, double alpha, int projections) {
  public static final String NAME = "feature-ks";

  public FeatureDrift {
    if (sampleEvery < 1 || reference < 10 || recent < 10 || every < 1 || !(alpha > 0 && alpha < 1) || projections < 1
        || projections > 64) {
      throw new IllegalArgumentException("feature drift needs sampleEvery >= 1, reference >= 10, recent >= 10, every >= 1, "
          + "0 < alpha < 1, 1 <= projections <= 64; was " + sampleEvery + ", " + reference + ", " + recent + ", " + every + ", "
          + alpha + ", " + projections);
    }
  }

  /** The per-direction level after the Bonferroni correction. */
  public double alphaPerDirection() {
    return alpha / projections;
  }
}
