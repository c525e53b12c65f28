package dev.streamtune.ingest.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.records.LabellingRequest;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * The labelling queue in Label Studio's terms: {@link #task} writes a request as a Label Studio task (its JSON import format:
 * {@code data.image} as a data URL and {@code data.prediction_id}, and {@code predictions} carrying the model version and the
 * predicted choice, so annotators start from the model's answer); {@link #config} is the labelling interface for the label set
 * ({@code <Image name="image">} and single {@code <Choices name="label">}); {@link #feedback} reads an {@code ANNOTATION_CREATED}
 * or {@code ANNOTATION_UPDATED} webhook payload ({@code annotation.result[]} with a {@code choices} value, the task with its
 * data) into feedback for the prediction id. Stateless.
 */
public final class LabelStudio {
  /** The names of the interface's tags, which tasks' predictions and annotations refer to. */
  public static final String FROM_NAME = "label";
  public static final String TO_NAME = "image";
  static final List<String> ANNOTATION_ACTIONS = List.of("ANNOTATION_CREATED", "ANNOTATION_UPDATED");

  private LabelStudio() {}

  /** What a webhook call amounts to: feedback to publish, or nothing, with the reason (a cancelled annotation, another action). */
  public sealed interface Outcome {}

  public record Labelled(Feedback feedback) implements Outcome {}

  public record Ignored(String reason) implements Outcome {}

  /** A request as a Label Studio task. */
  public static Map<String, Object> task(LabellingRequest r) {
    Map<String, Object> data = new LinkedHashMap<>();
    data.put("image", dataUrl(r.image()));
    data.put("prediction_id", r.predictionId());
    data.put("model", r.model());
    data.put("model_version", r.version());
    Map<String, Object> choice = new LinkedHashMap<>();
    choice.put("from_name", FROM_NAME);
    choice.put("to_name", TO_NAME);
    choice.put("type", "choices");
    choice.put("value", Map.of("choices", List.of(r.predictedLabel())));
    Map<String, Object> prediction = new LinkedHashMap<>();
    prediction.put("model_version", r.model() + " v" + r.version());
    prediction.put("score", r.topK().get(0).probability());
    prediction.put("result", List.of(choice));
    Map<String, Object> meta = new LinkedHashMap<>();
    meta.put("priority", r.priority());
    meta.put("uncertainty", r.uncertainty());
    meta.put("novelty", Double.isNaN(r.novelty()) ? null : r.novelty());
    meta.put("drift_region", r.driftRegion());
    meta.put("served_at", r.servedAt().toString());
    Map<String, Object> task = new LinkedHashMap<>();
    task.put("data", data);
    task.put("predictions", List.of(prediction));
    task.put("meta", meta);
    return task;
  }

  /** The labelling interface (Label Studio's XML config) for a label set. */
  public static String config(List<String> labels) {
    StringBuilder b = new StringBuilder("<View>\n  <Image name=\"").append(TO_NAME).append("\" value=\"$image\"/>\n  <Choices name=\"")
        .append(FROM_NAME).append("\" toName=\"").append(TO_NAME).append("\" choice=\"single\" showInline=\"true\">\n");
    for (String l : labels) {
      b.append("    <Choice value=\"").append(xml(l)).append("\"/>\n");
    }
    return b.append("  </Choices>\n</View>\n").toString();
  }

  /**
   * Reads a webhook payload. The label is the first {@code choices} result's only choice; the prediction id is the task's
   * {@code data.prediction_id}; the annotator is Label Studio's user ({@code completed_by}: an id or an object with an email).
   *
   * @throws IllegalArgumentException naming the field when an annotation payload lacks what feedback needs
   */
  public static Outcome feedback(byte[] body, Instant now) {
    JsonNode root;
    try {
      root = Json.fromBytes(body, JsonNode.class);
    } catch (RecordFormatException e) {
      throw new IllegalArgumentException("not a Label Studio webhook payload: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw new IllegalArgumentException("not a Label Studio webhook payload: expected a JSON object with \"action\"");
    }
    String action = root.path("action").asText("");
    if (action.isEmpty()) {
      throw new IllegalArgumentException("action is missing; expected one of " + ANNOTATION_ACTIONS);
    }
    if (!ANNOTATION_ACTIONS.contains(action)) {
      return new Ignored("action " + action + " carries no label (taken: " + ANNOTATION_ACTIONS + ")");
    }
    JsonNode annotation = root.path("annotation");
    if (!annotation.isObject()) {
      throw new IllegalArgumentException("annotation is missing (send the payload: the webhook's send_payload must be true)");
    }
    if (annotation.path("was_cancelled").asBoolean(false)) {
      return new Ignored("the annotation was cancelled (the task was skipped)");
    }
    String predictionId = root.path("task").path("data").path("prediction_id").asText("");
    if (predictionId.isBlank()) {
      throw new IllegalArgumentException("task.data.prediction_id is missing: the task was not exported from the labelling "
          + "queue (GET /labelling/requests?format=label-studio)");
    }
    List<String> choices = new ArrayList<>();
    for (JsonNode r : annotation.path("result")) {
      if ("choices".equals(r.path("type").asText())) {
        r.path("value").path("choices").forEach(c -> choices.add(c.asText()));
        break;
      }
    }
    if (choices.size() != 1) {
      throw new IllegalArgumentException(choices.isEmpty()
          ? "annotation.result holds no choices result: expected one with value.choices = [label]"
          : "annotation.result chooses " + choices + ": expected exactly one label");
    }
    return new Labelled(Feedback.of(predictionId, choices.get(0), annotator(annotation.path("completed_by")), now));
  }

  private static String annotator(JsonNode completedBy) {
    Optional<String> who = completedBy.isObject()
        ? Optional.ofNullable(completedBy.path("email").asText(null)).or(() -> Optional.ofNullable(completedBy.path("id")
            .asText(null)))
        : completedBy.isMissingNode() || completedBy.isNull() ? Optional.empty() : Optional.of(completedBy.asText());
    return "label-studio:" + who.filter(s -> !s.isBlank()).orElse("unknown");
  }

  /** The image as a data URL, its media type from its first bytes. */
  static String dataUrl(byte[] image) {
    return "data:" + Objects.requireNonNullElse(Preprocessor.mediaType(image), "application/octet-stream") + ";base64,"
        + java.util.Base64.getEncoder().encodeToString(image);
  }

  private static String xml(String s) {
    return s.replace("&", "&amp;").replace("\"", "&quot;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
