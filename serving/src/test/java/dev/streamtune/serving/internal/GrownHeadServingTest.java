package dev.streamtune.serving.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.metrics.Metrics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import dev.streamtune.serving.Fixtures;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A promoted version whose head grew a label (11 outputs, a spec of 11 labels) is loaded from a real store by the swapper and
 * served with its own label set: the V2 metadata announces it, answers carry 11 probabilities and can name the new label, while
 * the previous version, still loaded, keeps its 10.
 */
class GrownHeadServingTest {
  private static final String NEW_LABEL = "Hat";
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final PrometheusMeterRegistry registry = Metrics.newRegistry("serving-test");
  private final ServingMetrics metrics = new ServingMetrics("fashion");
  private final ModelHolder holder = new ModelHolder(1);
  private InferenceBatcher batcher;
  private EventPublisher events;
  private ServiceHttp http;

  @AfterEach
  void close() {
    if (http != null) {
      http.close();
      batcher.close();
      events.close();
    }
  }

  private void serve() {
    metrics.bindTo(registry);
    Topics topics = Topics.withDefaultPrefix();
    batcher = new InferenceBatcher(holder, 8, Duration.ofMillis(1), 64, metrics);
    events = new EventPublisher(EventPublisher.producer(KafkaClients.of("localhost:1"), "test-predictions", topics.predictions),
        EventPublisher.producer(KafkaClients.of("localhost:1"), "test-inputs", topics.inputs), topics.predictions, topics.inputs, 1024, metrics,
        Duration.ZERO);
    http = new ServiceHttp("serving", "localhost", 0, 4, registry, () -> ServiceState.RUNNING);
    http.route(PredictHandler.PATH, new PredictHandler(holder, batcher, events, metrics, 3, 1 << 20, Clock.systemUTC()));
    http.route(OpenInferenceHandler.PATH, new OpenInferenceHandler(new OpenInference("fashion", holder, batcher, events, metrics, 3,
        1 << 20, () -> ServiceState.RUNNING, Clock.systemUTC()), holder, metrics, 1 << 20));
    http.start();
    batcher.start();
  }

  private HttpResponse<String> send(String method, String path, byte[] body, String type) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://localhost:" + http.port() + path))
        .timeout(Duration.ofSeconds(60))
        .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    if (type != null) {
      b.header("Content-Type", type);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private JsonNode get(String path) throws Exception {
    HttpResponse<String> r = send("GET", path, null, null);
    assertThat(r.statusCode()).as("GET %s: %s", path, r.body()).isEqualTo(200);
    return Json.MAPPER.readTree(r.body());
  }

  private JsonNode infer(String path, int images) throws Exception {
    HttpResponse<String> r = send("POST", path, Json.toBytes(OpenInferenceHandlerTest.request("image", "BYTES", List.of(images),
        OpenInferenceHandlerTest.base64(0, images))), "application/json");
    assertThat(r.statusCode()).as("POST %s: %s", path, r.body()).isEqualTo(200);
    return Json.MAPPER.readTree(r.body());
  }

  private static List<String> texts(JsonNode array) {
    List<String> out = new ArrayList<>();
    array.forEach(n -> out.add(n.asText()));
    return out;
  }

  private static JsonNode output(JsonNode body, String name) {
    for (JsonNode o : body.get("outputs")) {
      if (o.get("name").asText().equals(name)) {
        return o;
      }
    }
    throw new AssertionError("no output " + name + " in " + body);
  }

  @Test
  void shouldServeAPromotedVersionWithAGrownHeadWithItsOwnLabels() throws Exception {
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("grown-head-store"));
    Manifest v1 = TestModels.storeBase(store, "fashion", 256);
    List<String> grown = new ArrayList<>(FashionMnist.LABELS);
    grown.add(NEW_LABEL);
    MultiLayerNetwork net = Networks.cnn(FashionMnist.SIDE, grown.size(), 1e-3, 11);
    // a head that favours the new label for every image, so an answer naming it can only come from the 11-label version
    net.getLayer("head").getParam("b").putScalar(grown.size() - 1, 50.0);
    ModelSpec spec = Networks.spec(FashionMnist.SIDE, grown, Networks.DEFAULT_FREEZE_BOUNDARY);
    Manifest v2 = store.save("fashion", net, spec, 1, v1.training(), Map.of());
    ModelSwapper swapper = new ModelSwapper(store, "fashion", holder, 8, metrics);
    serve();

    assertThat(swapper.serveBase()).isTrue();
    JsonNode before = get("/v2/models/fashion");
    assertThat(texts(before.get("parameters").get("labels"))).isEqualTo(FashionMnist.LABELS);
    assertThat(before.get("parameters").get("version").asText()).isEqualTo("1");
    assertThat(before.get("outputs").get(0).get("shape")).extracting(JsonNode::asInt).containsExactly(-1, 10);

    assertThat(swapper.apply(new Promotion(Versioned.CURRENT, "fashion", 2, store.uri("fashion", 2), v2.sha256(), "head grown",
        Instant.now()))).isTrue();
    assertThat(holder.version()).hasValue(2);

    // the metadata of the serving version and of version 2 by name announce 11 labels; version 1, still loaded, its 10
    for (String path : List.of("/v2/models/fashion", "/v2/models/fashion/versions/2")) {
      JsonNode m = get(path);
      assertThat(m.get("parameters").get("version").asText()).as(path).isEqualTo("2");
      assertThat(texts(m.get("parameters").get("labels"))).as(path).isEqualTo(grown);
      assertThat(m.get("parameters").get("sha256").asText()).as(path).isEqualTo(v2.sha256());
      assertThat(m.get("outputs").get(0).get("shape")).as(path).extracting(JsonNode::asInt).containsExactly(-1, 11);
      assertThat(texts(m.get("versions"))).as(path).containsExactly("1", "2");
    }
    JsonNode old = get("/v2/models/fashion/versions/1");
    assertThat(texts(old.get("parameters").get("labels"))).isEqualTo(FashionMnist.LABELS);
    assertThat(old.get("outputs").get(0).get("shape")).extracting(JsonNode::asInt).containsExactly(-1, 10);

    // answers of the serving version: 11 probabilities per image, the new label first
    JsonNode answer = infer("/v2/models/fashion/infer", 3);
    assertThat(answer.get("model_version").asText()).isEqualTo("2");
    JsonNode probs = output(answer, OpenInference.PROBABILITIES);
    assertThat(probs.get("shape")).extracting(JsonNode::asInt).containsExactly(3, 11);
    assertThat(probs.get("data")).hasSize(33);
    JsonNode labels = output(answer, OpenInference.LABELS);
    for (int i = 0; i < 3; i++) {
      assertThat(labels.get("data").get(i * 3).asText()).isEqualTo(NEW_LABEL);
    }
    HttpResponse<String> predict = send("POST", "/predict", Fixtures.png(0), "image/png");
    assertThat(predict.statusCode()).isEqualTo(200);
    JsonNode p = Json.MAPPER.readTree(predict.body());
    assertThat(p.get("version").asInt()).isEqualTo(2);
    assertThat(p.get("topK").get(0).get("label").asText()).isEqualTo(NEW_LABEL);

    // the pinned previous version still answers with its own 10 labels, none of them the new one
    JsonNode pinned = infer("/v2/models/fashion/versions/1/infer", 2);
    assertThat(output(pinned, OpenInference.PROBABILITIES).get("shape")).extracting(JsonNode::asInt)
        .containsExactly(2, 10);
    assertThat(texts(output(pinned, OpenInference.LABELS).get("data"))).isSubsetOf(FashionMnist.LABELS);
    assertThat(metrics.loads()).isEqualTo(2);
  }
}
