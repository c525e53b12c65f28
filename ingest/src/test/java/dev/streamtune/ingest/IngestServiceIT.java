package dev.streamtune.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.ServiceState;
import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.records.Sample;
import dev.streamtune.core.testing.TestData;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The ingest service against a real in-process KRaft broker, over real HTTP. */
class IngestServiceIT {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static EmbeddedKafkaBroker broker;
  private static IngestService service;
  private static Topics topics;
  private static KafkaConsumer<String, byte[]> reader;
  private static KafkaProducer<String, byte[]> producer;
  private static final List<ConsumerRecord<String, byte[]>> seen = new ArrayList<>();
  private static final HttpClient http = HttpClient.newHttpClient();
  private static byte[] png;

  @BeforeAll
  static void start() throws InterruptedException {
    png = Images.toPng(TestData.test().images()[1], 28, 28);
    broker = EmbeddedKafkaBroker.builder().port(0).dataDir(null).build();
    broker.start();
    topics = Topics.withDefaultPrefix();
    KafkaSupport.ensureTopics(broker.bootstrapServers(), topics, 1, (short) 1, Duration.ofSeconds(30));
    service = new IngestService(IngestConfig.from(Settings.of(Map.of(
        CommonConfig.BOOTSTRAP, broker.bootstrapServers(),
        CommonConfig.STORE_DIR, TestData.tempDir("store").toString(),
        IngestConfig.STATE_DIR, TestData.tempDir("state").toString(),
        IngestConfig.PORT, "0",
        IngestConfig.APPLICATION_ID, "ingest-it"))));
    service.start();
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (service.state() != ServiceState.RUNNING && System.nanoTime() < deadline) {
      Thread.sleep(100);
    }
    assertThat(service.state()).isEqualTo(ServiceState.RUNNING);

    reader = KafkaSupport.rawConsumer(broker.bootstrapServers(), "ingest-it-reader", null);
    List<TopicPartition> parts = List.of(new TopicPartition(topics.samples.name(), 0),
        new TopicPartition(topics.samplesRejected.name(), 0), new TopicPartition(topics.recordsRejected.name(), 0));
    reader.assign(parts);
    reader.seekToBeginning(parts);
    producer = KafkaSupport.producer(broker.bootstrapServers(), "ingest-it-writer", topics.samplesRaw);
  }

  @AfterAll
  static void stop() {
    if (producer != null) {
      producer.close();
    }
    if (reader != null) {
      reader.close();
    }
    if (service != null) {
      service.close();
    }
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void shouldDeliverAPostedPngToSamples() throws Exception {
    HttpResponse<String> r = post("/samples?label=Coat&domain=camera-2&id=http-1", png);

    assertThat(r.statusCode()).isEqualTo(202);
    assertThat(Json.MAPPER.readTree(r.body()).get("id").asText()).isEqualTo("http-1");
    assertThat(Json.MAPPER.readTree(r.body()).get("topic").asText()).isEqualTo(topics.samplesRaw.name());
    Sample s = Json.fromBytes(await(topics.samples.name(), "http-1").value(), Sample.class);
    assertThat(s.label()).isEqualTo("Coat");
    assertThat(s.domain()).isEqualTo("camera-2");
    assertThat(s.source()).isEqualTo("http");
    assertThat(s.image()).isEqualTo(png);
  }

  @Test
  void shouldAnswer400NamingTheProblemWhenThePostedBodyIsNotAnImage() throws Exception {
    HttpResponse<String> r = post("/samples?label=Coat&id=http-2", "hello".getBytes(StandardCharsets.UTF_8));

    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    assertThat(Json.MAPPER.readTree(r.body()).get("error").asText()).contains("not a decodable image");
  }

  @Test
  void shouldAnswer400ForFeedbackThatIsNotJson() throws Exception {
    HttpResponse<String> r = post("/feedback", "{predictionId: oops".getBytes(StandardCharsets.UTF_8));

    assertThat(r.statusCode()).isEqualTo(400);
    assertThat(Json.MAPPER.readTree(r.body()).get("error").asText()).contains("not a valid feedback request");
  }

  @Test
  void shouldRejectABadRecordOnSamplesRawAndAcceptTheGoodOneAfterIt() {
    producer.send(raw("raw-bad", "hello".getBytes(StandardCharsets.UTF_8), "Coat"));
    producer.send(raw("raw-good", png, "4"));
    producer.flush();

    ConsumerRecord<String, byte[]> rejected = await(topics.samplesRejected.name(), "raw-bad");
    assertThat(new String(rejected.value(), StandardCharsets.UTF_8)).isEqualTo("hello");
    assertThat(new String(rejected.headers().lastHeader(Topics.HEADER_REJECT_REASON).value(), StandardCharsets.UTF_8))
        .contains("not a decodable image");
    Sample good = Json.fromBytes(await(topics.samples.name(), "raw-good").value(), Sample.class);
    assertThat(good.label()).isEqualTo("Coat");
    assertThat(good.source()).isEqualTo("loader");
  }

  @Test
  void shouldJoinPostedFeedbackWithTheServedInputIntoASample() throws Exception {
    producer.send(new ProducerRecord<>(topics.inputs.name(), "pred-1", png));
    producer.flush();
    HttpResponse<String> r = post("/feedback",
        "{\"predictionId\": \"pred-1\", \"label\": \"Bag\", \"annotator\": \"it\"}".getBytes(StandardCharsets.UTF_8));

    assertThat(r.statusCode()).isEqualTo(202);
    Sample s = Json.fromBytes(await(topics.samples.name(), "pred-1").value(), Sample.class);
    assertThat(s.label()).isEqualTo("Bag");
    assertThat(s.source()).isEqualTo("feedback");
    assertThat(s.domain()).isEqualTo("served");
    assertThat(s.image()).isEqualTo(png);
  }

  @Test
  void shouldBeReadyAndExportTheIngestCounters() throws Exception {
    HttpResponse<String> ready = http.send(HttpRequest.newBuilder(uri("/health/ready")).build(),
        HttpResponse.BodyHandlers.ofString());
    HttpResponse<String> metrics = http.send(HttpRequest.newBuilder(uri("/metrics")).build(),
        HttpResponse.BodyHandlers.ofString());

    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(metrics.body()).contains("streamtune_ingest_samples_accepted_total")
        .contains("streamtune_ingest_samples_rejected_total{").contains("reason=\"wrong-size\"");
  }

  private static ProducerRecord<String, byte[]> raw(String id, byte[] value, String label) {
    ProducerRecord<String, byte[]> r = new ProducerRecord<>(topics.samplesRaw.name(), id, value);
    r.headers().add(Topics.HEADER_LABEL, label.getBytes(StandardCharsets.UTF_8));
    r.headers().add(Topics.HEADER_SOURCE, "loader".getBytes(StandardCharsets.UTF_8));
    return r;
  }

  private static HttpResponse<String> post(String path, byte[] body) throws Exception {
    return http.send(HttpRequest.newBuilder(uri(path)).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private static URI uri(String path) {
    return URI.create("http://localhost:" + service.port() + path);
  }

  /** Polls the output topics until a record with this key arrives on this topic; fails after {@link #WAIT}. */
  private static synchronized ConsumerRecord<String, byte[]> await(String topic, String key) {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (true) {
      Optional<ConsumerRecord<String, byte[]>> hit =
          seen.stream().filter(r -> r.topic().equals(topic) && key.equals(r.key())).findFirst();
      if (hit.isPresent()) {
        return hit.get();
      }
      if (System.nanoTime() > deadline) {
        throw new AssertionError("no record '" + key + "' on " + topic + " within " + WAIT + "; saw "
            + seen.stream().map(r -> r.topic() + "/" + r.key()).toList());
      }
      reader.poll(Duration.ofMillis(200)).forEach(seen::add);
    }
  }
}
