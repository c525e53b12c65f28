package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.Objects;

/**
 * Shadow scoring evidence on {@code shadow}, keyed by model name: a serving node ran a candidate (the <em>shadow</em>) beside
 * the champion on a share of the requests the champion answered, and sums up one window of them. The answers clients got came
 * from the champion; the shadow's answers were only compared. Each node publishes its own windows (they score different
 * requests, so windows of several nodes add up). Evidence a gate <em>may</em> weigh: agreement says how often the two would
 * answer alike on live traffic (no labels needed), the confidences how sure each was on the same inputs.
 *
 * @param model the model name
 * @param championVersion the version that answered the requests (the candidate's parent)
 * @param shadowVersion the candidate version that scored them in the shadow
 * @param node the serving node that scored them (its client id), to tell windows of several nodes apart
 * @param inputs images scored by both in this window, at least 1
 * @param agreed of those, the images whose most probable label was the same for both
 * @param championMeanConfidence the champion's mean top-1 probability on those images, in [0, 1]
 * @param shadowMeanConfidence the shadow's mean top-1 probability on the same images, in [0, 1]
 * @param windowStart when the window opened (the previous window of this pair closed, or the shadow was loaded)
 * @param windowEnd when it closed, not before {@code windowStart}
 */
public record ShadowScore(int schema, String model, int championVersion, int shadowVersion, String node, long inputs,
    long agreed, double championMeanConfidence, double shadowMeanConfidence, Instant windowStart, Instant windowEnd)
    implements Versioned {
  public ShadowScore {
    Versioned.check(schema, "shadow score");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(node, "node");
    Objects.requireNonNull(windowStart, "windowStart");
    Objects.requireNonNull(windowEnd, "windowEnd");
    if (championVersion < 1 || shadowVersion < 1 || shadowVersion == championVersion) {
      throw new IllegalArgumentException("championVersion " + championVersion + " and shadowVersion " + shadowVersion
          + " must be two different versions >= 1");
    }
    if (inputs < 1 || agreed < 0 || agreed > inputs) {
      throw new IllegalArgumentException("inputs " + inputs + " must be >= 1 and agreed " + agreed + " within [0, inputs]");
    }
    if (!(championMeanConfidence >= 0 && championMeanConfidence <= 1 && shadowMeanConfidence >= 0
        && shadowMeanConfidence <= 1)) {
      throw new IllegalArgumentException("mean confidences must be within [0, 1], were " + championMeanConfidence + " (champion) and "
          + shadowMeanConfidence + " (shadow)");
    }
    if (windowEnd.isBefore(windowStart)) {
      throw new IllegalArgumentException("windowEnd " + windowEnd + " is before windowStart " + windowStart);
    }
  }

  /** The share of inputs on which both answered the same label, in [0, 1]. */
  public double agreement() {
    return agreed / (double) inputs;
  }
}
