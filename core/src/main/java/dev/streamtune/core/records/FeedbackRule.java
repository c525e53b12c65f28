package dev.streamtune.core.records;

import java.util.List;
import java.util.Optional;

/**
 * The one rule by which ingest (feedback → samples) and the evaluator (feedback → outcomes) judge a feedback record, so the
 * two never disagree on what a label said: its key must be its prediction id (the topics are co-partitioned by it; a record
 * keyed otherwise would join another prediction), and a label may be given by name or by class index, an index meaning the
 * name at that position of the model's labels. Pure.
 */
public final class FeedbackRule {
  private FeedbackRule() {}

  /** Why a feedback record cannot be used. */
  public enum Problem { MISSING_KEY, KEY_MISMATCH }

  /** A refusal: the kind and the words. */
  public record Refusal(Problem problem, String text) {}

  /** Why a record keyed {@code key} holding {@code f} cannot be used; empty when it can. */
  public static Optional<Refusal> check(String key, Feedback f) {
    if (key == null || key.isBlank()) {
      return Optional.of(new Refusal(Problem.MISSING_KEY, "feedback record without a key; the key must be the prediction id"));
    }
    if (!key.equals(f.predictionId())) {
      return Optional.of(new Refusal(Problem.KEY_MISMATCH, "feedback keyed '" + key + "' is about prediction '"
          + f.predictionId() + "'; the key must be the prediction id"));
    }
    return Optional.empty();
  }

  /**
   * The label as a name: itself when it is one of {@code labels}, the name at its position when it is a class index within
   * them, empty otherwise (an unknown name, an index out of range).
   */
  public static Optional<String> name(String label, List<String> labels) {
    if (label == null) {
      return Optional.empty();
    }
    String s = label.trim();
    if (labels.contains(s)) {
      return Optional.of(s);
    }
    if (s.matches("\\d{1,9}")) {
      int i = Integer.parseInt(s);
      return i < labels.size() ? Optional.of(labels.get(i)) : Optional.empty();
    }
    return Optional.empty();
  }
}
