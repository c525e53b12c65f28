package dev.streamtune.serving.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.metrics.Metrics;
import dev.streamtune.serving.Fixtures;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The HTTP face with a real model, real HTTP and real Kafka producers pointed at a broker that is not there. */
class PredictHandlerTest {
  private static final int BODY_MAX = 2000;
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final PrometheusMeterRegistry registry = Metrics.newRegistry("serving-test");
  private final ServingMetrics metrics = new ServingMetrics("fashion");
  private final ModelHolder holder = new ModelHolder(1);
  private InferenceBatcher batcher;
  private EventPublisher events;
  private ServiceHttp http;

  PredictHandlerTest() {
    metrics.bindTo(registry);
  }

  private void serve(boolean startWorker, int queueMax) {
    Topics topics = Topics.withDefaultPrefix();
    batcher = new InferenceBatcher(holder, 8, Duration.ofMillis(1), queueMax, metrics);
    // nothing listens on port 1: every send fails after max.block.ms, which must neither fail nor hold up a request
    events = new EventPublisher(EventPublisher.producer(KafkaClients.of("localhost:1"), "test-predictions", topics.predictions),
        EventPublisher.producer(KafkaClients.of("localhost:1"), "test-inputs", topics.inputs), topics.predictions, topics.inputs, 1024, metrics,
        Duration.ZERO);
    http = new ServiceHttp("serving", "localhost", 0, 4, registry, () -> ServiceState.RUNNING);
    http.route(PredictHandler.PATH, new PredictHandler(holder, batcher, events, metrics, 3, BODY_MAX, Clock.systemUTC()));
    http.start();
    if (startWorker) {
      batcher.start();
    }
  }

  @AfterEach
  void close() {
    if (http != null) {
      http.close();
      batcher.close();
      events.close();
    }
  }

  private HttpResponse<String> post(String pathAndQuery, byte[] body, String contentType) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://localhost:" + http.port() + pathAndQuery))
        .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private static JsonNode json(HttpResponse<String> r) throws Exception {
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    return Json.MAPPER.readTree(r.body());
  }

  private double rejected(RejectReason reason) {
    return registry.get(ServingMetrics.REJECTED).tags("reason", reason.tag()).counter().count();
  }

  private double counter(String name, String... tags) {
    var c = registry.find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  @Test
  void shouldAnswerARealImageWithTheTopLabelsOfTheServingModelAlthoughKafkaIsDown() throws Exception {
    MultiLayerNetwork net = Fixtures.net(1);
    Map<String, Double> expected = Fixtures.direct(net, Fixtures.image(3));
    holder.swap(Fixtures.loaded("fashion", 4, net));
    serve(true, 64);

    HttpResponse<String> r = post("/predict", Fixtures.png(3), "image/png");

    assertThat(r.statusCode()).isEqualTo(200);
    JsonNode body = json(r);
    assertThat(UUID.fromString(body.get("predictionId").asText())).isNotNull();
    assertThat(body.get("model").asText()).isEqualTo("fashion");
    assertThat(body.get("version").asInt()).isEqualTo(4);
    assertThat(body.get("latencyMs").asDouble()).isPositive();
    assertThat(body.get("topK")).hasSize(3);
    String best = expected.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
    assertThat(body.get("topK").get(0).get("label").asText()).isEqualTo(best);
    assertThat(body.get("topK").get(0).get("probability").asDouble()).isCloseTo(expected.get(best),
        org.assertj.core.api.Assertions.within(1e-5));

    assertThat(post("/predict?topk=5", Fixtures.png(3), "application/octet-stream").statusCode()).isEqualTo(200);
    assertThat(json(post("/predict?topk=5", Fixtures.png(3), null)).get("topK")).hasSize(5);
    // a huge k costs no more than every label (it once allocated k slots: OutOfMemoryError for the whole batch)
    assertThat(json(post("/predict?topk=2147483647", Fixtures.png(3), null)).get("topK")).hasSize(10);
    assertThat(counter(ServingMetrics.REQUESTS, "model", "fashion", "version", "4", "outcome", "ok")).isEqualTo(4.0);

    // the events could not be sent: counted, not lost silently
    Fixtures.await(Duration.ofSeconds(30), "failed events counted for both topics",
        () -> counter(ServingMetrics.EVENTS_FAILED, "topic", "streamtune.predictions") == 3.0
            && counter(ServingMetrics.EVENTS_FAILED, "topic", "streamtune.inputs") == 3.0);
  }

  @Test
  void shouldRefuseWhatIsNotAnImageOfTheModelsSizeWithoutInference() throws Exception {
    holder.swap(Fixtures.loaded("fashion", 1, Fixtures.net(1)));
    serve(true, 64);

    HttpResponse<String> hello = post("/predict", "hello".getBytes(), "application/octet-stream");
    assertThat(hello.statusCode()).isEqualTo(400);
    assertThat(json(hello).get("error").asText()).contains("not a decodable image");

    HttpResponse<String> small = post("/predict", Images.toPng(new float[100], 10, 10), "image/png");
    assertThat(small.statusCode()).isEqualTo(400);
    assertThat(json(small).get("error").asText()).contains("wrong image size 10x10", "28x28");

    HttpResponse<String> empty = post("/predict", new byte[0], "image/png");
    assertThat(empty.statusCode()).isEqualTo(400);
    assertThat(json(empty).get("error").asText()).contains("empty body");

    HttpResponse<String> big = post("/predict", new byte[BODY_MAX + 1], "image/png");
    assertThat(big.statusCode()).isEqualTo(413);
    assertThat(json(big).get("error").asText()).contains("over the limit of " + BODY_MAX);

    HttpResponse<String> text = post("/predict", Fixtures.png(0), "text/plain");
    assertThat(text.statusCode()).isEqualTo(415);
    assertThat(json(text).get("error").asText()).contains("text/plain");

    HttpResponse<String> badK = post("/predict?topk=zero", Fixtures.png(0), "image/png");
    assertThat(badK.statusCode()).isEqualTo(400);
    assertThat(json(badK).get("error").asText()).contains("topk");

    HttpResponse<String> get = client.send(HttpRequest.newBuilder(URI.create("http://localhost:" + http.port() + "/predict"))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
    assertThat(get.statusCode()).isEqualTo(405);
    assertThat(json(get).get("error").asText()).contains("GET", "POST");

    assertThat(rejected(RejectReason.NOT_AN_IMAGE)).isEqualTo(1.0);
    assertThat(rejected(RejectReason.WRONG_SIZE)).isEqualTo(1.0);
    assertThat(rejected(RejectReason.EMPTY)).isEqualTo(1.0);
    assertThat(rejected(RejectReason.TOO_LARGE)).isEqualTo(1.0);
    assertThat(rejected(RejectReason.UNSUPPORTED_TYPE)).isEqualTo(1.0);
    assertThat(rejected(RejectReason.BAD_PARAMETER)).isEqualTo(1.0);
    assertThat(rejected(RejectReason.BAD_METHOD)).isEqualTo(1.0);
    assertThat(registry.find(ServingMetrics.BATCH_SIZE).summary().count()).as("no inference ran").isZero();

    assertThat(post("/predict", Fixtures.png(0), "image/png").statusCode()).as("still serving").isEqualTo(200);
  }

  @Test
  void shouldAnswer503WhileNoModelIsLoaded() throws Exception {
    serve(true, 64);

    HttpResponse<String> r = post("/predict", Fixtures.png(0), "image/png");

    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(json(r).get("error").asText()).contains("no model");
    assertThat(r.headers().firstValue("Retry-After")).isPresent();
    assertThat(rejected(RejectReason.NO_MODEL)).isEqualTo(1.0);
    assertThat(counter(ServingMetrics.REQUESTS, "model", "fashion", "version", "none", "outcome", "rejected")).isEqualTo(1.0);
  }

  @Test
  void shouldAnswer429WithRetryAfterAtOnceWhenTheQueueIsFull() throws Exception {
    holder.swap(Fixtures.loaded("fashion", 1, Fixtures.net(1)));
    serve(false, 1); // the worker does not run: the first request stays queued

    CompletableFuture<HttpResponse<String>> waiting = CompletableFuture.supplyAsync(() -> {
      try {
        return post("/predict", Fixtures.png(0), "image/png");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    Fixtures.await(Duration.ofSeconds(30), "the first request queued", () -> batcher.depth() == 1);

    HttpResponse<String> full = post("/predict", Fixtures.png(1), "image/png");
    assertThat(full.statusCode()).isEqualTo(429);
    assertThat(full.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(json(full).get("error").asText()).contains("queue full");
    assertThat(rejected(RejectReason.QUEUE_FULL)).isEqualTo(1.0);

    batcher.close();
    HttpResponse<String> first = waiting.get(60, TimeUnit.SECONDS);
    assertThat(first.statusCode()).isEqualTo(503);
    assertThat(json(first).get("error").asText()).contains("shutting down");
  }

  @Test
  void shouldAnswerWithAPinnedVersionWhileItIsLoadedAnd404After() throws Exception {
    MultiLayerNetwork netA = Fixtures.net(1);
    Map<String, Double> expectedA = Fixtures.direct(netA, Fixtures.image(3));
    holder.swap(Fixtures.loaded("fashion", 1, netA));
    holder.swap(Fixtures.loaded("fashion", 2, Fixtures.net(2)));
    serve(true, 64);

    JsonNode v1 = json(post("/predict?version=1&topk=10", Fixtures.png(3), "image/png"));
    assertThat(v1.get("version").asInt()).isEqualTo(1);
    for (JsonNode lp : v1.get("topK")) {
      assertThat(lp.get("probability").asDouble()).isCloseTo(expectedA.get(lp.get("label").asText()),
          org.assertj.core.api.Assertions.within(1e-5));
    }
    assertThat(json(post("/predict", Fixtures.png(3), "image/png")).get("version").asInt()).isEqualTo(2);

    holder.swap(Fixtures.loaded("fashion", 3, Fixtures.net(1)));
    HttpResponse<String> gone = post("/predict?version=1", Fixtures.png(3), "image/png");
    assertThat(gone.statusCode()).isEqualTo(404);
    assertThat(json(gone).get("error").asText()).contains("version '1'", "loaded versions: [2, 3]");
    assertThat(rejected(RejectReason.UNKNOWN_VERSION)).isEqualTo(1.0);
  }
}
