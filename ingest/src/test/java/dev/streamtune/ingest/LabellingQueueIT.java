package dev.streamtune.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.records.LabelProbability;
import dev.streamtune.core.records.LabellingRequest;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestKafka;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The labelling queue's HTTP side on a real broker and a real ingest service: requests published on {@code labelling.requests}
 * are taken best first (plain JSON and Label Studio tasks), a Label Studio webhook for an exported task becomes feedback on
 * {@code feedback}, bad parameters and payloads get 400 naming the problem, and what nobody took survives a restart.
 */
class LabellingQueueIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final Topics TOPICS = Topics.withDefaultPrefix();
  private static final HttpClient http = HttpClient.newHttpClient();
  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void startBroker() {
    broker = TestKafka.startWith(TOPICS);
  }

  @AfterAll
  static void stopBroker() {
    broker.close();
  }

  @Test
  void shouldOfferTheBestRequestsFirstAndTurnLabelStudioAnnotationsIntoFeedback() throws Exception {
    byte[] png = Images.toPng(TestData.test().images()[3], 28, 28);
    double[] priorities = {0.3, 2.5, 0.9, 2.1, 0.6};
    try (KafkaProducer<String, LabellingRequest> p = KafkaSupport.producer(broker.bootstrapServers(), "it-requests",
        TOPICS.labellingRequests)) {
      for (int i = 0; i < priorities.length; i++) {
        LabellingRequest r = new LabellingRequest(LabellingRequest.CURRENT, "p-" + i, "fashion", 1,
            List.of(new LabelProbability("Dress", 0.5), new LabelProbability("Coat", 0.3)), priorities[i], 0.8, 0.6,
            priorities[i] >= 2, Instant.now(), Instant.now(), png);
        p.send(new ProducerRecord<>(TOPICS.labellingRequests.name(), r.predictionId(), r));
      }
      p.send(new ProducerRecord<>(TOPICS.labellingRequests.name(), "garbage", null));
    }
    IngestService service = start();
    try {
      awaitPending(service, 5);
      JsonNode first = get(service, "/labelling/requests?n=2", 200);
      assertThat(first.path("requests").findValuesAsText("predictionId")).containsExactly("p-1", "p-3");
      JsonNode top = first.path("requests").get(0);
      assertThat(top.path("predicted").asText()).isEqualTo("Dress");
      assertThat(top.path("driftRegion").asBoolean()).isTrue();
      assertThat(top.path("image").asText()).startsWith("data:image/png;base64,");
      assertThat(first.path("pending").asInt()).isEqualTo(3);

      JsonNode tasks = get(service, "/labelling/requests?n=1&format=label-studio", 200);
      assertThat(tasks.isArray()).isTrue();
      JsonNode task = tasks.get(0);
      assertThat(task.path("data").path("prediction_id").asText()).isEqualTo("p-2");
      assertThat(task.path("predictions").get(0).path("result").get(0).path("value").path("choices").get(0).asText())
          .isEqualTo("Dress");

      // the annotator labels the exported task in Label Studio; its webhook brings the label back as feedback
      HttpResponse<String> hook = post(service, "/labelling/label-studio/webhook", payload("p-2", "Sneaker"));
      assertThat(hook.statusCode()).as(hook.body()).isEqualTo(202);
      List<ConsumerRecord<String, byte[]>> feedback = TestKafka.read(broker.bootstrapServers(), TOPICS.feedback.name(), WAIT,
          Duration.ofSeconds(1), r -> true);
      assertThat(feedback).hasSize(1);
      Feedback f = Json.fromBytes(feedback.get(0).value(), Feedback.class);
      assertThat(f.predictionId()).isEqualTo("p-2");
      assertThat(f.label()).isEqualTo("Sneaker");
      assertThat(f.annotator()).isEqualTo("label-studio:3");

      // bad input: 400 with the problem named, nothing written
      assertThat(post(service, "/labelling/label-studio/webhook", payload("p-2", "Spaceship")).body())
          .contains("unknown label 'Spaceship'");
      assertThat(post(service, "/labelling/label-studio/webhook", "{\"action\":\"ANNOTATION_CREATED\"}".getBytes(
          StandardCharsets.UTF_8)).body()).contains("annotation is missing");
      assertThat(get(service, "/labelling/requests?n=0", 400).path("error").asText()).contains("n must be");
      assertThat(get(service, "/labelling/requests?format=csv", 400).path("error").asText()).contains("format 'csv'");
      HttpResponse<String> ignored = post(service, "/labelling/label-studio/webhook",
          "{\"action\":\"PROJECT_UPDATED\"}".getBytes(StandardCharsets.UTF_8));
      assertThat(ignored.statusCode()).isEqualTo(200);
      assertThat(ignored.body()).contains("ignored");
      HttpResponse<String> config = http.send(HttpRequest.newBuilder(uri(service, "/labelling/label-studio/config")).build(),
          HttpResponse.BodyHandlers.ofString());
      assertThat(config.statusCode()).isEqualTo(200);
      assertThat(config.body()).contains("<Choice value=\"Ankle boot\"/>");
      assertThat(TestKafka.read(broker.bootstrapServers(), TOPICS.feedback.name(), Duration.ofSeconds(2),
          Duration.ofSeconds(1), r -> true)).hasSize(1);
      assertThat(TestKafka.read(broker.bootstrapServers(), TOPICS.recordsRejected.name(), WAIT, Duration.ofSeconds(1),
          r -> true)).extracting(ConsumerRecord::key).contains("garbage");
    } finally {
      service.close();
    }
    // what nobody took is handed back on the stop and offered by the next instance, best first; nothing taken comes back
    IngestService again = start();
    try {
      awaitPending(again, 2);
      assertThat(get(again, "/labelling/requests?n=10", 200).path("requests").findValuesAsText("predictionId"))
          .containsExactly("p-4", "p-0");
    } finally {
      again.close();
    }
  }

  private static IngestService start() throws InterruptedException {
    IngestService s = new IngestService(IngestConfig.from(Settings.of(Map.of(
        CommonConfig.BOOTSTRAP, broker.bootstrapServers(),
        CommonConfig.STORE_DIR, TestData.tempDir("store").toString(),
        IngestConfig.STATE_DIR, TestData.tempDir("state").toString(),
        IngestConfig.PORT, "0",
        IngestConfig.APPLICATION_ID, "labelling-it"))));
    s.start();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (s.state() != ServiceState.RUNNING && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertThat(s.state()).isEqualTo(ServiceState.RUNNING);
    return s;
  }

  private static void awaitPending(IngestService s, int n) throws InterruptedException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    double pending = 0;
    while (System.nanoTime() < deadline) {
      pending = s.registry().get("streamtune.ingest.labelling.pending").gauge().value();
      if (pending >= n) {
        return;
      }
      Thread.sleep(100);
    }
    throw new AssertionError("the inbox holds " + pending + " requests, expected " + n);
  }

  private static byte[] payload(String predictionId, String label) throws Exception {
    try (InputStream in = LabellingQueueIT.class.getResourceAsStream("/label-studio/annotation-created.json")) {
      return new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("PREDICTION_ID", predictionId)
          .replace("\"Sneaker\"", "\"" + label + "\"").getBytes(StandardCharsets.UTF_8);
    }
  }

  private static JsonNode get(IngestService s, String path, int status) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri(s, path)).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
    return Json.fromBytes(r.body().getBytes(StandardCharsets.UTF_8), JsonNode.class);
  }

  private static HttpResponse<String> post(IngestService s, String path, byte[] body) throws Exception {
    return http.send(HttpRequest.newBuilder(uri(s, path)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static URI uri(IngestService s, String path) {
    return URI.create("http://localhost:" + s.port() + path);
  }
}
