package dev.streamtune.trainer;

import java.util.Objects;

/**
 * How a fine-tune freezes and trains: the last frozen layer, the head's learning rate, the factor by which each convolutional
 * block below the dense top is slowed (conv2 at {@code headRate * factor}, conv1 at {@code headRate * factor^2}), and why. The
 * per-layer rates that follow from it for a given network are computed by {@link FineTuner#layerRates}.
 *
 * @param boundary the last frozen layer, or {@link #NOTHING} to train every layer
 * @param headRate the learning rate of the dense layers above the boundary (fc, head)
 * @param lowerRateFactor in (0, 1]: the rate of a convolutional layer is the rate of the block above it times this
 * @param reason why this plan was chosen, for the training summary
 */
public record FreezePlan(String boundary, double headRate, double lowerRateFactor, String reason) {
  /** The boundary that freezes nothing: every layer trains (the value of {@code streamtune.trainer.freeze-boundary=none}). */
  public static final String NOTHING = "none";

  public FreezePlan {
    Objects.requireNonNull(boundary, "boundary");
    Objects.requireNonNull(reason, "reason");
    if (!(headRate > 0) || !Double.isFinite(headRate)) {
      throw new IllegalArgumentException("headRate must be > 0, was " + headRate);
    }
    if (!(lowerRateFactor > 0 && lowerRateFactor <= 1)) {
      throw new IllegalArgumentException("lowerRateFactor must be in (0, 1], was " + lowerRateFactor);
    }
  }

  /** Whether {@code boundary} freezes nothing. */
  public static boolean freezesNothing(String boundary) {
    return NOTHING.equals(boundary);
  }

  /** Whether this plan trains every layer. */
  public boolean freezesNothing() {
    return freezesNothing(boundary);
  }

  /** A plan with one rate for every trained layer (factor 1). */
  public static FreezePlan uniform(String boundary, double rate, String reason) {
    return new FreezePlan(boundary, rate, 1.0, reason);
  }
}
