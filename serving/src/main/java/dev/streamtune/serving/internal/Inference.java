package dev.streamtune.serving.internal;

import dev.streamtune.core.records.LabelProbability;
import java.util.List;

/**
 * The answer to one request: the model and version whose batch computed it, the top labels (most probable first), the size
 * of that batch and the probability of every label in the model's label order (the caller must not change the array).
 */
public record Inference(String model, int version, List<LabelProbability> topK, int batchSize, float[] probabilities) {
  public Inference {
    topK = List.copyOf(topK);
    probabilities = probabilities == null ? new float[0] : probabilities;
  }

  public Inference(String model, int version, List<LabelProbability> topK, int batchSize) {
    this(model, version, topK, batchSize, null);
  }
}
