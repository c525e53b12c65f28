package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.Objects;

/** A prediction joined with its feedback: whether the served answer was right. Internal to the evaluator. */
public record Outcome(int schema, String predictionId, String model, int version, String predicted, String actual,
    double confidence, Instant predictedAt, Instant labelledAt) implements Versioned {
  public Outcome {
    Versioned.check(schema, "outcome");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(predicted, "predicted");
    Objects.requireNonNull(actual, "actual");
  }

  public static Outcome of(Prediction p, Feedback f) {
    return new Outcome(CURRENT, p.id(), p.model(), p.version(), p.predictedLabel(), f.label(), p.confidence(), p.timestamp(),
        f.timestamp());
  }

  public boolean correct() {
    return predicted.equals(actual);
  }
}
