package dev.streamtune.core.model;

import java.util.List;
import java.util.Objects;

/**
 * What a model takes and answers: its input shape {@code [channels, height, width]}, preprocessing, label set (index = output
 * unit), the layer names in order and the freeze boundary (the last frozen layer for fine-tuning).
 */
public record ModelSpec(List<Integer> inputShape, String preprocessing, List<String> labels, List<String> layers,
    String freezeBoundary) {
  public ModelSpec {
    inputShape = List.copyOf(inputShape);
    labels = List.copyOf(labels);
    layers = List.copyOf(layers);
    Objects.requireNonNull(preprocessing, "preprocessing");
    if (inputShape.size() != 3) {
      throw new IllegalArgumentException("inputShape is [channels, height, width], was " + inputShape);
    }
    if (labels.isEmpty()) {
      throw new IllegalArgumentException("labels must not be empty");
    }
    if (freezeBoundary != null && !freezeBoundary.equals("none") && !layers.contains(freezeBoundary)) {
      throw new IllegalArgumentException("freeze boundary '" + freezeBoundary + "' is not one of the layers " + layers);
    }
  }

  public int height() {
    return inputShape.get(1);
  }

  public int width() {
    return inputShape.get(2);
  }

  /** The index of a label, or -1. */
  public int labelIndex(String label) {
    return labels.indexOf(label);
  }
}
