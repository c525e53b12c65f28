package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.List;
import java.util.Objects;

/** A served prediction on {@code predictions}, keyed by prediction id. */
public record Prediction(int schema, String id, String model, int version, List<LabelProbability> topK, double latencyMs,
    Instant timestamp) implements Versioned {
  public Prediction {
    Versioned.check(schema, "prediction");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(model, "model");
    topK = List.copyOf(topK);
    if (topK.isEmpty()) {
      throw new IllegalArgumentException("topK must not be empty");
    }
    Objects.requireNonNull(timestamp, "timestamp");
  }

  public static Prediction of(String id, String model, int version, List<LabelProbability> topK, double latencyMs, Instant at) {
    return new Prediction(CURRENT, id, model, version, topK, latencyMs, at);
  }

  /** The label the model answered. */
  public String predictedLabel() {
    return topK.get(0).label();
  }

  /** The probability of the answered label. */
  public double confidence() {
    return topK.get(0).probability();
  }
}
