package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * A served input the labelling teams are asked to label, on {@code labelling.requests}, keyed by prediction id: the image as
 * served and the champion's answer, ranked by what a label would teach ({@link dev.streamtune.core.learn.LabelPriority}). The
 * answer comes back as ordinary {@link Feedback} for the prediction id.
 *
 * @param version the champion version that answered (and scored) the input
 * @param topK the champion's most probable labels, most probable first
 * @param priority the rank key, higher first: (uncertainty + novelty) / 2, + 2 in the drift region
 * @param uncertainty 1 − the margin between the two most probable classes
 * @param novelty the embedding's distance to the reference, d / (d + s); NaN before the reference filled
 * @param driftRegion served after the onset of a drift alarm on this version
 * @param servedAt when serving answered the input; requestedAt when it was put on the queue
 */
public record LabellingRequest(int schema, String predictionId, String model, int version, List<LabelProbability> topK,
    double priority, double uncertainty, double novelty, boolean driftRegion, Instant servedAt, Instant requestedAt,
    byte[] image) implements Versioned {
  public LabellingRequest {
    Versioned.check(schema, "labelling request");
    if (predictionId == null || predictionId.isBlank()) {
      throw new IllegalArgumentException("predictionId is missing");
    }
    Objects.requireNonNull(model, "model");
    topK = List.copyOf(topK);
    if (topK.isEmpty()) {
      throw new IllegalArgumentException("topK must not be empty");
    }
    Objects.requireNonNull(servedAt, "servedAt");
    Objects.requireNonNull(requestedAt, "requestedAt");
    Objects.requireNonNull(image, "image");
  }

  /** The label the champion answered. */
  public String predictedLabel() {
    return topK.get(0).label();
  }
}
