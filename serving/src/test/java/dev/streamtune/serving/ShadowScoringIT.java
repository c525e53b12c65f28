package dev.streamtune.serving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.records.Candidate;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.records.ShadowScore;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestKafka;
import dev.streamtune.core.testing.TestModels;
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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Shadow scoring against a real KRaft broker, real HTTP and real model files: a candidate of the serving version scores the
 * answered images beside it, and what it publishes is what the two stored models answer on those images.
 */
class ShadowScoringIT {
  private static final Duration PATIENCE = Duration.ofSeconds(30);
  private static final Topics TOPICS = Topics.withDefaultPrefix();
  private static EmbeddedKafkaBroker broker;
  private static String bootstrap;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10)).build();

  @BeforeAll
  static void startBroker() {
    broker = TestKafka.startWith(TOPICS);
    bootstrap = broker.bootstrapServers();
  }

  @AfterAll
  static void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void shouldScoreTheCandidateBesideTheChampionPublishWhatBothAnswerAndDropItOnPromotion() throws Exception {
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("shadow-it-store"));
    Manifest v1 = TestModels.storeBase(store, "fashion", 512);
    Manifest v2 = store.save("fashion", TestModels.trainedCnn(512, 7), v1.spec(), 1, v1.training(), Map.of());
    Manifest v3 = store.save("fashion", TestModels.trainedCnn(256, 9), v1.spec(), 2, v1.training(), Map.of());
    int n = 20;
    Expected expected = expected(store, n);

    try (ServingService serving = new ServingService(ServingConfig.from(Settings.of(Map.of("streamtune.bootstrap", bootstrap,
        "streamtune.store.dir", store.root().toString(), "streamtune.model", "fashion", "streamtune.serving.port", "0",
        "streamtune.serving.grpc-port", "-1", "streamtune.serving.host", "localhost", "streamtune.serving.shadow.share", "1",
        "streamtune.serving.shadow.summary.inputs", "8", "streamtune.serving.shadow.summary.interval", "500ms"))))) {
      serving.start();
      Fixtures.await(PATIENCE, "serving ready", () -> serving.state() == ServiceState.RUNNING);

      // an unreadable candidate is skipped (the gate rejects it onto records.rejected), and the node serves on
      sendRaw(TOPICS.candidates.name(), "fashion", "{not json".getBytes(StandardCharsets.UTF_8));
      Fixtures.await(PATIENCE, "the unreadable candidate skipped",
          () -> metric(serving, "streamtune_records_skipped_total", "topic", TOPICS.candidates.name()) == 1.0);
      assertThat(version(predict(serving, 0))).isEqualTo(1);

      // a candidate of v1 becomes the shadow; every answer still comes from v1
      publish(candidate(v2, store.uri("fashion", 2), v2.sha256(), 1));
      Fixtures.await(PATIENCE, "v2 in the shadow", () -> metric(serving, "streamtune_serving_shadow_version", "model", "fashion")
          == 2.0);
      for (int i = 0; i < n; i++) {
        assertThat(version(predict(serving, i))).as("answer %d", i).isEqualTo(1);
      }
      Fixtures.await(PATIENCE, "the answered images scored in the shadow",
          () -> metric(serving, "streamtune_serving_shadow_scored_total", "version", "2") == n);

      // the windows on the shadow topic add up to what the two stored models answer on those images
      List<ShadowScore> windows = windows(2, n);
      assertThat(windows).allSatisfy(w -> {
        assertThat(w.model()).isEqualTo("fashion");
        assertThat(w.championVersion()).isEqualTo(1);
        assertThat(w.windowEnd()).isAfterOrEqualTo(w.windowStart());
      });
      assertThat(windows.stream().mapToLong(ShadowScore::inputs).sum()).isEqualTo(n);
      assertThat(windows.stream().mapToLong(ShadowScore::agreed).sum()).isEqualTo(expected.agreed);
      assertThat(windows.stream().mapToDouble(w -> w.championMeanConfidence() * w.inputs()).sum())
          .isCloseTo(expected.championSum, within(1e-3));
      assertThat(windows.stream().mapToDouble(w -> w.shadowMeanConfidence() * w.inputs()).sum())
          .isCloseTo(expected.shadowSum, within(1e-3));

      // and so do the meters
      double agreement = metric(serving, "streamtune_serving_shadow_agreement", "version", "2");
      assertThat(agreement).isBetween(0.0, 1.0).isCloseTo(expected.agreed / (double) n, within(1e-9));
      assertThat(metric(serving, "streamtune_serving_shadow_agreed_total", "champion", "1")).isEqualTo(expected.agreed);
      assertThat(metric(serving, "streamtune_serving_shadow_confidence", "role", "shadow")).isCloseTo(expected.shadowSum / n,
          within(1e-4));
      assertThat(metric(serving, "streamtune_serving_shadow_confidence", "role", "champion"))
          .isCloseTo(expected.championSum / n, within(1e-4));
      assertThat(metric(serving, "streamtune_serving_shadow_dropped_total", "reason", "queue-full")).isZero();

      // promoting the candidate drops the shadow: v2 answers, nothing is scored beside it
      publishPromotion(new Promotion(Versioned.CURRENT, "fashion", 2, store.uri("fashion", 2), v2.sha256(), "gate: better",
          Instant.now()));
      Fixtures.await(PATIENCE, "v2 serving", () -> serving.servingVersion().orElse(0) == 2);
      Fixtures.await(PATIENCE, "the shadow dropped", () -> metric(serving, "streamtune_serving_shadow_version", "model",
          "fashion") == 0.0);
      assertThat(version(predict(serving, 1))).isEqualTo(2);

      // a candidate of v2 whose sha256 is not the stored one is refused, counted, and never scored
      publish(candidate(v3, store.uri("fashion", 3), "ab".repeat(32), 2));
      Fixtures.await(PATIENCE, "the candidate with a wrong sha256 refused",
          () -> metric(serving, "streamtune_serving_shadow_refused_total", "reason", "sha256-mismatch") == 1.0);
      for (int i = 0; i < 5; i++) {
        assertThat(version(predict(serving, i))).isEqualTo(2);
      }
      assertThat(metric(serving, "streamtune_serving_shadow_version", "model", "fashion")).isZero();
      assertThat(metric(serving, "streamtune_serving_shadow_scored_total", "version", "3")).isNaN();
      assertThat(metric(serving, "streamtune_serving_shadow_scored_total", "champion", "2")).isNaN();
      assertThat(serving.state()).isEqualTo(ServiceState.RUNNING);
    }
  }

  /** What the stored v1 (champion) and v2 (shadow) answer on test images {@code [0, n)} sent as PNG, each on its own. */
  private record Expected(int agreed, double championSum, double shadowSum) {}

  private static Expected expected(DirectoryModelStore store, int n) {
    LoadedModel champion = store.load("fashion", 1, null);
    LoadedModel shadow = store.load("fashion", 2, null);
    Preprocessor pre = Preprocessor.of(champion.spec());
    int agreed = 0;
    double championSum = 0;
    double shadowSum = 0;
    for (int i = 0; i < n; i++) {
      INDArray x = pre.batch(List.of(pre.decode(Fixtures.png(i))));
      INDArray c = champion.network().output(x);
      INDArray s = shadow.network().output(x);
      int ci = c.argMax(1).getInt(0);
      int si = s.argMax(1).getInt(0);
      agreed += ci == si ? 1 : 0;
      championSum += c.getDouble(0, ci);
      shadowSum += s.getDouble(0, si);
    }
    return new Expected(agreed, championSum, shadowSum);
  }

  private static Candidate candidate(Manifest m, String uri, String sha256, int parent) {
    return new Candidate(Versioned.CURRENT, "fashion", m.version(), uri, sha256, parent, m.training(), Instant.now());
  }

  /** The windows of a shadow version on the shadow topic, once they hold {@code inputs} images. */
  private static List<ShadowScore> windows(int shadowVersion, long inputs) {
    List<ShadowScore> out = new ArrayList<>();
    long[] seen = {0};
    for (ConsumerRecord<String, byte[]> r : TestKafka.read(bootstrap, TOPICS.shadow.name(), PATIENCE, Duration.ofMillis(700),
        r -> {
          ShadowScore s = Json.fromBytes(r.value(), ShadowScore.class);
          seen[0] += s.shadowVersion() == shadowVersion ? s.inputs() : 0;
          return seen[0] >= inputs;
        })) {
      assertThat(r.key()).isEqualTo("fashion");
      ShadowScore s = Json.fromBytes(r.value(), ShadowScore.class);
      if (s.shadowVersion() == shadowVersion) {
        out.add(s);
      }
    }
    return out;
  }

  private HttpResponse<String> predict(ServingService s, int image) throws Exception {
    HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + s.port() + "/predict"))
        .header("Content-Type", "image/png").timeout(Duration.ofSeconds(60))
        .POST(HttpRequest.BodyPublishers.ofByteArray(Fixtures.png(image))).build(), HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    return r;
  }

  private static int version(HttpResponse<String> r) throws Exception {
    JsonNode body = Json.MAPPER.readTree(r.body());
    return body.get("version").asInt();
  }

  /** A sample of /metrics with the given tag, or NaN when absent. */
  private double metric(ServingService s, String name, String tag, String value) {
    String body;
    try {
      body = http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + s.port() + "/metrics"))
          .timeout(Duration.ofSeconds(30)).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    Pattern p = Pattern.compile("^" + Pattern.quote(name) + "\\{([^}]*)\\} (\\S+)$", Pattern.MULTILINE);
    Matcher m = p.matcher(body);
    while (m.find()) {
      if (m.group(1).contains(tag + "=\"" + value + "\"")) {
        return Double.parseDouble(m.group(2));
      }
    }
    return Double.NaN;
  }

  private static void publish(Candidate c) throws Exception {
    try (KafkaProducer<String, Candidate> producer = KafkaSupport.producer(bootstrap, "it-trainer", TOPICS.candidates)) {
      producer.send(new ProducerRecord<>(TOPICS.candidates.name(), c.model(), c)).get(30, TimeUnit.SECONDS);
    }
  }

  private static void publishPromotion(Promotion p) throws Exception {
    try (KafkaProducer<String, Promotion> producer = KafkaSupport.producer(bootstrap, "it-promoter", TOPICS.promotions)) {
      producer.send(new ProducerRecord<>(TOPICS.promotions.name(), p.model(), p)).get(30, TimeUnit.SECONDS);
    }
  }

  private static void sendRaw(String topic, String key, byte[] value) throws Exception {
    try (KafkaProducer<String, byte[]> producer = KafkaSupport.producer(bootstrap, "it-raw", TOPICS.inputs)) {
      producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
    }
  }
}
