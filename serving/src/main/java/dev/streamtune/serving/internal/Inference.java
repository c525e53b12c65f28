package dev.streamtune.serving.internal;

import dev.streamtune.core.records.LabelProbability;
import java.util.List;

/**
 * The answer to one request: the model and version whose batch computed it, the top labels (most probable first) and the size
 * of that batch.
 */
public record Inference(String model, int version, List<LabelProbability> topK, int batchSize) {
  public Inference {
    topK = List.copyOf(topK);
  }
}
