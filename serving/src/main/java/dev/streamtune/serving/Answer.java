package dev.streamtune.serving;

import dev.streamtune.core.records.LabelProbability;
import java.util.List;
import java.util.Objects;

/**
 * The answer to one image given in-process ({@link ServingService#infer}): the model and version whose batch computed it, the
 * top labels (most probable first) and the size of that batch.
 */
public record Answer(String model, int version, List<LabelProbability> topK, int batchSize) {
  public Answer {
    Objects.requireNonNull(model, "model");
    topK = List.copyOf(topK);
  }
}
