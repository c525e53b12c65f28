package dev.streamtune.ingest.internal;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * The model's label set. A label is given by its name ({@code "Coat"}) or by its class index as a decimal ({@code "4"}), which
 * maps to the name. Names match exactly. Immutable and thread-safe.
 */
public final class LabelSet {
  private final List<String> labels;

  public LabelSet(List<String> labels) {
    Objects.requireNonNull(labels, "labels");
    if (labels.isEmpty()) {
      throw new IllegalArgumentException("the label set must not be empty");
    }
    this.labels = List.copyOf(labels);
  }

  public List<String> labels() {
    return labels;
  }

  /** The label name for a name or a class index; empty when it is neither. */
  public Optional<String> resolve(String raw) {
    if (raw == null) {
      return Optional.empty();
    }
    String s = raw.trim();
    if (labels.contains(s)) {
      return Optional.of(s);
    }
    if (s.matches("\\d{1,9}")) {
      int i = Integer.parseInt(s);
      if (i < labels.size()) {
        return Optional.of(labels.get(i));
      }
    }
    return Optional.empty();
  }

  /** What a valid label looks like, for messages: the names and the index range. */
  public String describe() {
    return "one of " + labels + " or a class index 0-" + (labels.size() - 1);
  }
}
