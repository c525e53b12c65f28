package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.Objects;

/** A labelling team's correction (or confirmation) of a served prediction, on {@code feedback}, keyed by prediction id. */
public record Feedback(int schema, String predictionId, String label, String annotator, Instant timestamp) implements Versioned {
  public Feedback {
    Versioned.check(schema, "feedback");
    if (predictionId == null || predictionId.isBlank()) {
      throw new IllegalArgumentException("predictionId is missing");
    }
    if (label == null || label.isBlank()) {
      throw new IllegalArgumentException("label is missing");
    }
    annotator = annotator == null || annotator.isBlank() ? "unknown" : annotator;
    Objects.requireNonNull(timestamp, "timestamp");
  }

  public static Feedback of(String predictionId, String label, String annotator, Instant at) {
    return new Feedback(CURRENT, predictionId, label, annotator, at);
  }
}
