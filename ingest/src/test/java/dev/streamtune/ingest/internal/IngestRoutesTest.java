package dev.streamtune.ingest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.metrics.Metrics;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.testing.TestData;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The HTTP routes on a real server, writing to a mock producer: every answer without a broker. */
class IngestRoutesTest {
  private static final Preprocessor GREY_28 = Preprocessor.of(Networks.spec(FashionMnist.SIDE, FashionMnist.LABELS,
      Networks.DEFAULT_FREEZE_BOUNDARY));
  private static final Instant NOW = Instant.parse("2026-03-01T12:00:00Z");
  private static final int MAX_BYTES = 4096;
  private static byte[] png;
  private final Topics topics = Topics.withDefaultPrefix();
  private final HttpClient client = HttpClient.newHttpClient();
  private MockProducer<String, byte[]> producer;
  private PrometheusMeterRegistry registry;
  private ServiceHttp http;

  @BeforeAll
  static void image() {
    png = Images.toPng(TestData.test().images()[2], 28, 28);
  }

  @BeforeEach
  void startServer() {
    producer = new MockProducer<>(true, null, new StringSerializer(), new ByteArraySerializer());
    registry = Metrics.newRegistry("ingest-test");
    IngestMetrics metrics = new IngestMetrics(registry, topics);
    LabelSet labels = new LabelSet(FashionMnist.LABELS);
    Clock clock = Clock.fixed(NOW, ZoneOffset.UTC);
    http = new ServiceHttp("ingest", "localhost", 0, 2, registry, () -> ServiceState.RUNNING);
    http.route(SamplesRoute.PATH, new SamplesRoute(new SampleValidator(labels, GREY_28), producer, topics, MAX_BYTES, metrics, clock,
        Duration.ofSeconds(5)));
    http.route(FeedbackRoute.PATH, new FeedbackRoute(new FeedbackValidator(labels), producer, topics, MAX_BYTES, metrics, clock,
        Duration.ofSeconds(5)));
    http.start();
  }

  @AfterEach
  void stopServer() {
    http.close();
  }

  @Test
  void shouldWriteAPostedSampleToSamplesRawWithItsHeaders() throws Exception {
    HttpResponse<String> r = post("/samples?label=4&domain=camera-2&id=abc", png, "image/png");

    assertThat(r.statusCode()).isEqualTo(202);
    assertThat(json(r).get("id").asText()).isEqualTo("abc");
    assertThat(json(r).get("topic").asText()).isEqualTo(topics.samplesRaw.name());
    assertThat(producer.history()).hasSize(1);
    ProducerRecord<String, byte[]> sent = producer.history().get(0);
    assertThat(sent.topic()).isEqualTo(topics.samplesRaw.name());
    assertThat(sent.key()).isEqualTo("abc");
    assertThat(sent.value()).isEqualTo(png);
    assertThat(header(sent, Topics.HEADER_LABEL)).isEqualTo("Coat");
    assertThat(header(sent, Topics.HEADER_DOMAIN)).isEqualTo("camera-2");
    assertThat(header(sent, Topics.HEADER_SOURCE)).isEqualTo("http");
    assertThat(header(sent, Topics.HEADER_CONTENT_TYPE)).isEqualTo("image/png");
    assertThat(registry.get("streamtune.ingest.http.accepted").tag("kind", "sample").counter().count()).isEqualTo(1);
  }

  @Test
  void shouldGiveASampleWithoutIdAFreshOne() throws Exception {
    HttpResponse<String> r = post("/samples?label=Coat", png, "image/png");

    assertThat(r.statusCode()).isEqualTo(202);
    assertThat(json(r).get("id").asText()).isNotBlank().isEqualTo(producer.history().get(0).key());
  }

  @Test
  void shouldAnswer400NamingTheProblemAndWriteNothingForABadSample() throws Exception {
    assertBadRequest(post("/samples?label=Coat", "hello".getBytes(StandardCharsets.UTF_8), null), "not a decodable image");
    assertBadRequest(post("/samples?label=Coat", Images.toPng(new float[16], 4, 4), null), "wrong image size 4x4");
    assertBadRequest(post("/samples", png, null), "missing label");
    assertBadRequest(post("/samples?label=Unicorn", png, null), "unknown label 'Unicorn'");
    assertThat(producer.history()).isEmpty();
    assertThat(registry.get("streamtune.ingest.http.rejected").tag("kind", "sample").tag("reason", "unknown-label").counter()
        .count()).isEqualTo(1);
  }

  @Test
  void shouldAnswer405ToAnotherMethod() throws Exception {
    HttpResponse<String> r = client.send(HttpRequest.newBuilder(uri("/samples")).GET().build(),
        HttpResponse.BodyHandlers.ofString());

    assertThat(r.statusCode()).isEqualTo(405);
    assertThat(json(r).get("error").asText()).contains("POST");
  }

  @Test
  void shouldAnswer413ToABodyOverTheLimit() throws Exception {
    HttpResponse<String> r = post("/samples?label=Coat", new byte[MAX_BYTES + 1], null);

    assertThat(r.statusCode()).isEqualTo(413);
    assertThat(json(r).get("error").asText()).contains(String.valueOf(MAX_BYTES));
  }

  @Test
  void shouldAnswer404ToAPathThatOnlyStartsLikeARoute() throws Exception {
    assertThat(post("/samplesx?label=Coat", png, null).statusCode()).isEqualTo(404);
  }

  @Test
  void shouldWriteFeedbackKeyedByPredictionIdStampedWithTheServerTime() throws Exception {
    HttpResponse<String> r = post("/feedback", "{\"predictionId\":\"p-1\",\"label\":\"Coat\",\"annotator\":\"ann\"}"
        .getBytes(StandardCharsets.UTF_8), "application/json");

    assertThat(r.statusCode()).isEqualTo(202);
    assertThat(json(r).get("id").asText()).isEqualTo("p-1");
    ProducerRecord<String, byte[]> sent = producer.history().get(0);
    assertThat(sent.topic()).isEqualTo(topics.feedback.name());
    assertThat(sent.key()).isEqualTo("p-1");
    assertThat(Json.fromBytes(sent.value(), Feedback.class)).isEqualTo(Feedback.of("p-1", "Coat", "ann", NOW));
  }

  @Test
  void shouldAnswer400ToFeedbackThatIsNotJsonOrLacksAField() throws Exception {
    assertBadRequest(post("/feedback", "{oops".getBytes(StandardCharsets.UTF_8), null), "not a valid feedback request");
    assertBadRequest(post("/feedback", "{\"label\":\"Coat\"}".getBytes(StandardCharsets.UTF_8), null),
        "predictionId is missing");
    assertBadRequest(post("/feedback", "{\"predictionId\":\"p\"}".getBytes(StandardCharsets.UTF_8), null), "label is missing");
    assertBadRequest(post("/feedback", "{\"predictionId\":\"p\",\"label\":\"Unicorn\"}".getBytes(StandardCharsets.UTF_8),
        null), "unknown label 'Unicorn'");
    assertThat(producer.history()).isEmpty();
  }

  @Test
  void shouldAnswer503WhenKafkaDoesNotAcknowledgeTheRecordInTime() throws Exception {
    producer = new MockProducer<>(false, null, new StringSerializer(), new ByteArraySerializer());
    http.close();
    startServerWith(producer);

    HttpResponse<String> r = post("/samples?label=Coat", png, null);

    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(json(r).get("error").asText()).contains("did not acknowledge").contains(topics.samplesRaw.name());
  }

  private void startServerWith(MockProducer<String, byte[]> p) {
    IngestMetrics metrics = new IngestMetrics(registry, topics);
    http = new ServiceHttp("ingest", "localhost", 0, 2, registry, () -> ServiceState.RUNNING);
    http.route(SamplesRoute.PATH, new SamplesRoute(new SampleValidator(new LabelSet(FashionMnist.LABELS), GREY_28), p, topics,
        MAX_BYTES, metrics, Clock.systemUTC(), Duration.ofSeconds(1)));
    http.start();
  }

  private void assertBadRequest(HttpResponse<String> r, String problem) throws IOException {
    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(json(r).get("error").asText()).contains(problem);
  }

  private HttpResponse<String> post(String path, byte[] body, String contentType) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private URI uri(String path) {
    return URI.create("http://localhost:" + http.port() + path);
  }

  private static JsonNode json(HttpResponse<String> r) throws IOException {
    return Json.MAPPER.readTree(r.body());
  }

  private static String header(ProducerRecord<String, byte[]> r, String name) {
    return new String(r.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
  }
}
