package dev.streamtune.core.records;

import java.util.Objects;

/** One of the top-k answers of a prediction. */
public record LabelProbability(String label, double probability) {
  public LabelProbability {
    Objects.requireNonNull(label, "label");
    if (!(probability >= 0 && probability <= 1.0000001)) {
      throw new IllegalArgumentException("probability must be in [0,1], was " + probability);
    }
  }
}
