package dev.streamtune.trainer;

import java.util.List;
import java.util.Locale;

/**
 * Picks the freeze boundary of a fine-tune from how many new-domain samples there are and how far the new domain is from the old
 * one, the transfer-learning rule of the field: little data and a similar domain → train the head only (boundary {@code fc});
 * more data or a less similar domain → also fc (boundary {@code pool2}); much data or a far domain → also conv2 (boundary
 * {@code pool1}), the unfrozen conv layer at {@code lowerRateFactor} of the head's rate.
 *
 * <p>Distance is measured by the champion itself: {@code retained = accuracyOnNewDomain / accuracyBefore}, the share of its
 * accuracy that survived the shift (1 = no loss). When either accuracy is unknown (NaN) the domain counts as "less similar" (the
 * middle choice). An operator pins the boundary with {@link #pinned}. Pure and immutable; thread-safe.
 *
 * @param smallData fewer new-domain samples than this is "little data"
 * @param largeData at least this many new-domain samples is "much data"
 * @param similarRetained a retained share at or above this is a "similar" domain
 * @param farRetained a retained share below this is a "far" domain
 * @param headRate the head's learning rate
 * @param lowerRateFactor the rate factor of each conv block below the dense top
 * @param pinned a boundary that overrides the rule ({@code none} or a layer name), or null for the rule
 */
public record FreezePolicy(int smallData, int largeData, double similarRetained, double farRetained, double headRate,
    double lowerRateFactor, String pinned) {
  public static final String HEAD_ONLY = "fc";
  public static final String DENSE_TOP = "pool2";
  public static final String WITH_CONV2 = "pool1";

  public FreezePolicy {
    if (smallData < 0 || largeData < smallData) {
      throw new IllegalArgumentException("need 0 <= smallData <= largeData, were " + smallData + ", " + largeData);
    }
    if (!(farRetained >= 0 && farRetained <= similarRetained && similarRetained <= 1)) {
      throw new IllegalArgumentException("need 0 <= farRetained <= similarRetained <= 1, were " + farRetained + ", "
          + similarRetained);
    }
    // validates the rates once, here
    new FreezePlan(FreezePlan.NOTHING, headRate, lowerRateFactor, "check");
  }

  /**
   * The plan for a retrain.
   *
   * @param newSamples new-domain (post-onset) training samples
   * @param accuracyBefore the champion's accuracy before the shift, NaN when unknown
   * @param accuracyNew the champion's accuracy on new-domain samples, NaN when unknown
   */
  public FreezePlan choose(int newSamples, double accuracyBefore, double accuracyNew) {
    return choose(List.of(HEAD_ONLY, DENSE_TOP, WITH_CONV2), newSamples, accuracyBefore, accuracyNew);
  }

  /**
   * The plan for a retrain of a network whose spec declares {@code boundaries}, top first (head only → dense top → deeper):
   * the rule picks the first, second or third; a network that declares fewer gets the deepest it declares.
   */
  public FreezePlan choose(List<String> boundaries, int newSamples, double accuracyBefore, double accuracyNew) {
    if (boundaries.isEmpty()) {
      throw new IllegalArgumentException("the model's spec declares no freeze boundaries");
    }
    if (newSamples < 0) {
      throw new IllegalArgumentException("newSamples must be >= 0, was " + newSamples);
    }
    if (pinned != null) {
      return new FreezePlan(pinned, headRate, lowerRateFactor, "boundary pinned by config (streamtune.trainer.freeze-boundary="
          + pinned + ")");
    }
    double retained = retained(accuracyBefore, accuracyNew);
    String data = newSamples < smallData ? "little" : newSamples >= largeData ? "much" : "medium";
    String domain = Double.isNaN(retained) ? "unknown" : retained >= similarRetained ? "similar" : retained < farRetained ? "far"
        : "less similar";
    int depth;
    if (data.equals("much") || domain.equals("far")) {
      depth = 2;
    } else if (data.equals("little") && domain.equals("similar")) {
      depth = 0;
    } else {
      depth = 1;
    }
    String boundary = boundaries.get(Math.min(depth, boundaries.size() - 1));
    String reason = String.format(Locale.ROOT, "%s data (%d new-domain samples; little < %d, much >= %d), %s domain (champion "
        + "accuracy %.3f before, %.3f on the new domain, retained %.2f; similar >= %.2f, far < %.2f) -> freeze up to %s",
        data, newSamples, smallData, largeData, domain, accuracyBefore, accuracyNew, retained, similarRetained, farRetained,
        boundary);
    return new FreezePlan(boundary, headRate, lowerRateFactor, reason);
  }

  /** The share of accuracy that survived the shift, in [0, 1], or NaN when unknown. */
  static double retained(double before, double now) {
    if (!Double.isFinite(before) || !Double.isFinite(now) || before <= 0) {
      return Double.NaN;
    }
    return Math.max(0, Math.min(1, now / before));
  }
}
