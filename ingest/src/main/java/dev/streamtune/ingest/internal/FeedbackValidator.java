package dev.streamtune.ingest.internal;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.records.FeedbackRule;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Decides whether feedback may be used: it must be readable, name its prediction id and carry a label of the label set (name or
 * class index, mapped to the name). Checks both {@code feedback} records in the topology and {@code POST /feedback} requests.
 * Stateless and thread-safe.
 */
public final class FeedbackValidator {
  /** Why feedback was rejected (the {@code reason} tag of {@code streamtune.ingest.feedback.rejected}). */
  public enum Reason implements RejectReason {
    UNREADABLE("unreadable"), MISSING_ID("missing-id"), ID_MISMATCH("id-mismatch"), MISSING_LABEL("missing-label"),
    UNKNOWN_LABEL("unknown-label"),
    /** Another label for a prediction already labelled (known only where the topic is read: the first label counts). */
    RELABELLED("relabelled"),
    /**
     * No served input with the feedback's prediction id arrived within the join window (known only once the window closed): the
     * id is unknown, or the serving node that answered stopped before it published the input.
     */
    NO_INPUT("no-input");

    private final String tag;

    Reason(String tag) {
      this.tag = tag;
    }

    @Override
    public String tag() {
      return tag;
    }
  }

  /** The body of {@code POST /feedback}: the server stamps the time. */
  public record FeedbackRequest(String predictionId, String label, String annotator) {}

  private final LabelSet labels;

  public FeedbackValidator(LabelSet labels) {
    this.labels = Objects.requireNonNull(labels, "labels");
  }

  /**
   * Validates a {@code feedback} record as read from Kafka.
   *
   * @param key the record key, which must be the feedback's prediction id (the topics are co-partitioned by it)
   * @param value the JSON {@link Feedback}
   */
  public Verdict<Feedback> validateRecord(String key, byte[] value) {
    if (key == null || key.isBlank()) {
      return Verdict.reject(Reason.MISSING_ID, FeedbackRule.check(key, null).orElseThrow().text());
    }
    Feedback f;
    try {
      f = Json.fromBytes(value, Feedback.class);
    } catch (RecordFormatException e) {
      return Verdict.reject(Reason.UNREADABLE, e.getMessage());
    }
    if (f == null) {
      return Verdict.reject(Reason.UNREADABLE, "empty feedback record (JSON null)");
    }
    Optional<FeedbackRule.Refusal> refusal = FeedbackRule.check(key, f);
    if (refusal.isPresent()) {
      return Verdict.reject(Reason.ID_MISMATCH, refusal.get().text());
    }
    return withKnownLabel(f);
  }

  /** Validates the body of {@code POST /feedback}; the accepted feedback is stamped {@code now}. */
  public Verdict<Feedback> validateRequest(byte[] body, Instant now) {
    FeedbackRequest r;
    try {
      r = Json.fromBytes(body, FeedbackRequest.class);
    } catch (RecordFormatException e) {
      return Verdict.reject(Reason.UNREADABLE, e.getMessage().replace("FeedbackRequest record", "feedback request")
          + "; expected {\"predictionId\": ..., \"label\": ..., \"annotator\": ...}");
    }
    if (r == null) {
      return Verdict.reject(Reason.UNREADABLE, "empty feedback request; expected {\"predictionId\": ..., \"label\": ...}");
    }
    if (r.predictionId() == null || r.predictionId().isBlank()) {
      return Verdict.reject(Reason.MISSING_ID, "predictionId is missing");
    }
    if (r.label() == null || r.label().isBlank()) {
      return Verdict.reject(Reason.MISSING_LABEL, "label is missing; expected " + labels.describe());
    }
    return withKnownLabel(Feedback.of(r.predictionId(), r.label(), r.annotator(), now));
  }

  /** Validates feedback built from another tool's payload (e.g. a Label Studio annotation): its label must be known. */
  public Verdict<Feedback> validate(Feedback f) {
    return withKnownLabel(f);
  }

  private Verdict<Feedback> withKnownLabel(Feedback f) {
    Optional<String> name = labels.resolve(f.label());
    if (name.isEmpty()) {
      return Verdict.reject(Reason.UNKNOWN_LABEL, "unknown label '" + f.label() + "'; expected " + labels.describe());
    }
    return Verdict.accept(name.get().equals(f.label()) ? f
        : new Feedback(f.schema(), f.predictionId(), name.get(), f.annotator(), f.timestamp()));
  }
}
