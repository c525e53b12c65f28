package dev.streamtune.ingest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.records.LabelProbability;
import dev.streamtune.core.records.LabellingRequest;
import dev.streamtune.core.testing.TestData;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Label Studio's formats: tasks as its import takes them, the labelling interface, and webhook payloads shaped as its webhook
 * reference documents them ({@code src/test/resources/label-studio}: {@code action}, {@code annotation} with {@code result[]},
 * {@code completed_by}, {@code was_cancelled}, the {@code task} with its {@code data}, the {@code project}).
 */
class LabelStudioTest {
  private static final Instant NOW = Instant.parse("2026-12-02T05:01:13Z");

  @Test
  void anAnnotationBecomesFeedbackForThePredictionIdOfItsTask() throws IOException {
    LabelStudio.Outcome o = LabelStudio.feedback(payload("annotation-created.json", "p-123"), NOW);
    Feedback f = ((LabelStudio.Labelled) o).feedback();
    assertThat(f.predictionId()).isEqualTo("p-123");
    assertThat(f.label()).isEqualTo("Sneaker");
    assertThat(f.annotator()).isEqualTo("label-studio:3");
    assertThat(f.timestamp()).isEqualTo(NOW);

    Feedback updated = ((LabelStudio.Labelled) LabelStudio.feedback(payload("annotation-updated.json", "p-123"), NOW))
        .feedback();
    assertThat(updated.label()).isEqualTo("Ankle boot");
    assertThat(updated.annotator()).isEqualTo("label-studio:annotator@example.com");
  }

  @Test
  void otherActionsAndSkippedTasksAreIgnoredWithTheReason() throws IOException {
    String created = new String(payload("annotation-created.json", "p-1"), StandardCharsets.UTF_8);
    assertThat(LabelStudio.feedback(created.replace("\"ANNOTATION_CREATED\"", "\"TASKS_CREATED\"")
        .getBytes(StandardCharsets.UTF_8), NOW)).isInstanceOfSatisfying(LabelStudio.Ignored.class,
            i -> assertThat(i.reason()).contains("TASKS_CREATED"));
    assertThat(LabelStudio.feedback(created.replace("\"was_cancelled\": false", "\"was_cancelled\": true")
        .getBytes(StandardCharsets.UTF_8), NOW)).isInstanceOfSatisfying(LabelStudio.Ignored.class,
            i -> assertThat(i.reason()).contains("cancelled"));
  }

  @Test
  void aPayloadThatCannotBecomeFeedbackNamesTheFieldAtFault() throws IOException {
    String created = new String(payload("annotation-created.json", "p-1"), StandardCharsets.UTF_8);
    assertThatThrownBy(() -> LabelStudio.feedback(created.replace("\"prediction_id\": \"p-1\",", "")
        .getBytes(StandardCharsets.UTF_8), NOW)).hasMessageContaining("task.data.prediction_id");
    assertThatThrownBy(() -> LabelStudio.feedback(created.replace("[\"Sneaker\"]", "[\"Sneaker\", \"Sandal\"]")
        .getBytes(StandardCharsets.UTF_8), NOW)).hasMessageContaining("exactly one label");
    assertThatThrownBy(() -> LabelStudio.feedback(created.replace("\"type\": \"choices\"", "\"type\": \"rectanglelabels\"")
        .getBytes(StandardCharsets.UTF_8), NOW)).hasMessageContaining("annotation.result");
    assertThatThrownBy(() -> LabelStudio.feedback("{}".getBytes(StandardCharsets.UTF_8), NOW))
        .hasMessageContaining("action is missing");
    assertThatThrownBy(() -> LabelStudio.feedback("[1".getBytes(StandardCharsets.UTF_8), NOW))
        .hasMessageContaining("not a Label Studio webhook payload");
  }

  @Test
  void aRequestBecomesATaskWithTheImageAndTheModelsAnswer() {
    byte[] png = Images.toPng(TestData.test().images()[0], 28, 28);
    LabellingRequest r = new LabellingRequest(LabellingRequest.CURRENT, "p-9", "fashion", 3,
        List.of(new LabelProbability("Sneaker", 0.41), new LabelProbability("Sandal", 0.38)), 2.6, 0.97, 0.83, true,
        NOW.minusSeconds(5), NOW, png);
    JsonNode task = Json.fromBytes(Json.toBytes(LabelStudio.task(r)), JsonNode.class);
    String image = task.path("data").path("image").asText();
    assertThat(image).startsWith("data:image/png;base64,");
    assertThat(Base64.getDecoder().decode(image.substring(image.indexOf(',') + 1))).isEqualTo(png);
    assertThat(task.path("data").path("prediction_id").asText()).isEqualTo("p-9");
    JsonNode prediction = task.path("predictions").get(0);
    assertThat(prediction.path("model_version").asText()).isEqualTo("fashion v3");
    assertThat(prediction.path("score").asDouble()).isEqualTo(0.41);
    JsonNode result = prediction.path("result").get(0);
    assertThat(result.path("from_name").asText()).isEqualTo(LabelStudio.FROM_NAME);
    assertThat(result.path("to_name").asText()).isEqualTo(LabelStudio.TO_NAME);
    assertThat(result.path("type").asText()).isEqualTo("choices");
    assertThat(result.path("value").path("choices").get(0).asText()).isEqualTo("Sneaker");
    assertThat(task.path("meta").path("drift_region").asBoolean()).isTrue();
  }

  @Test
  void theInterfaceOffersEveryLabelAsOneChoiceOnTheImage() {
    String xml = LabelStudio.config(FashionMnist.LABELS);
    assertThat(xml).contains("<Image name=\"image\" value=\"$image\"/>", "<Choices name=\"label\" toName=\"image\" "
        + "choice=\"single\"", "<Choice value=\"T-shirt/top\"/>", "<Choice value=\"Ankle boot\"/>");
    assertThat(LabelStudio.config(List.of("a&b \"c\""))).contains("<Choice value=\"a&amp;b &quot;c&quot;\"/>");
  }

  /** A payload from the resources with its task's prediction id set. */
  static byte[] payload(String name, String predictionId) throws IOException {
    try (InputStream in = LabelStudioTest.class.getResourceAsStream("/label-studio/" + name)) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("PREDICTION_ID", predictionId)
          .getBytes(StandardCharsets.UTF_8);
    }
  }
}
