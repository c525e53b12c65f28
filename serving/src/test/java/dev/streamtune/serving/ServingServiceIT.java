package dev.streamtune.serving;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topic;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.records.Prediction;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestKafka;
import dev.streamtune.core.testing.TestModels;
import inference.GRPCInferenceServiceGrpc;
import inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import inference.OpenInferenceGrpc.InferTensorContents;
import inference.OpenInferenceGrpc.ModelInferRequest;
import inference.OpenInferenceGrpc.ModelInferRequest.InferInputTensor;
import inference.OpenInferenceGrpc.ModelInferResponse;
import inference.OpenInferenceGrpc.ServerReadyRequest;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Serving against a real KRaft broker, real HTTP and real model files. */
class ServingServiceIT {
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

  private static ServingConfig config(Path store, String model) {
    return ServingConfig.from(Settings.of(Map.of("streamtune.bootstrap", bootstrap, "streamtune.store.dir", store.toString(),
        "streamtune.model", model, "streamtune.serving.port", "0", "streamtune.serving.grpc-port", "0",
        "streamtune.serving.host", "localhost")));
  }

  @Test
  void shouldServeTheBaseThenHotSwapAPromotionWithoutAFailedRequestAndRefuseABadOne() throws Exception {
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("serving-it-store"));
    Manifest v1 = TestModels.storeBase(store, "fashion", 1000);
    Manifest v2 = store.save("fashion", TestModels.trainedCnn(1000, 7), v1.spec(), 1, v1.training(), Map.of());

    try (ServingService serving = new ServingService(config(store.root(), "fashion"))) {
      serving.start();
      Fixtures.await(PATIENCE, "serving ready", () -> serving.state() == ServiceState.RUNNING);
      assertThat(serving.servingVersion()).hasValue(1);
      assertThat(serving.spec()).isEqualTo(v1.spec());
      assertThat(get(serving, "/health/ready").statusCode()).isEqualTo(200);

      // a real Fashion-MNIST image: answered by v1, and both events published under the prediction id
      byte[] png = Fixtures.png(0);
      HttpResponse<String> first = predict(serving, png, "image/png");
      assertThat(first.statusCode()).isEqualTo(200);
      JsonNode answer = Json.MAPPER.readTree(first.body());
      assertThat(answer.get("version").asInt()).isEqualTo(1);
      assertThat(answer.get("model").asText()).isEqualTo("fashion");
      assertThat(answer.get("topK")).hasSize(3);
      String id = answer.get("predictionId").asText();

      Prediction event = Json.fromBytes(read(TOPICS.predictions.name(), id), Prediction.class);
      assertThat(event.id()).isEqualTo(id);
      assertThat(event.model()).isEqualTo("fashion");
      assertThat(event.version()).isEqualTo(1);
      assertThat(event.predictedLabel()).isEqualTo(answer.get("topK").get(0).get("label").asText());
      assertThat(event.topK()).hasSize(3);
      assertThat(read(TOPICS.inputs.name(), id)).isEqualTo(png);

      // not an image: 400 naming the problem, and the node still serves
      HttpResponse<String> hello = predict(serving, "hello".getBytes(StandardCharsets.UTF_8), "application/octet-stream");
      assertThat(hello.statusCode()).isEqualTo(400);
      assertThat(Json.MAPPER.readTree(hello.body()).get("error").asText()).contains("not a decodable image");
      assertThat(predict(serving, Fixtures.png(1), "image/png").statusCode()).isEqualTo(200);

      // promote v2 while clients keep posting: later answers name v2, and no request fails
      AtomicBoolean stop = new AtomicBoolean();
      List<List<int[]>> perClient = new ArrayList<>();
      ExecutorService clients = Executors.newFixedThreadPool(3);
      List<Future<?>> running = new ArrayList<>();
      try {
        for (int c = 0; c < 3; c++) {
          List<int[]> mine = Collections.synchronizedList(new ArrayList<>());
          perClient.add(mine);
          int client = c;
          running.add(clients.submit(() -> {
            for (int i = client; !stop.get(); i += 3) {
              HttpResponse<String> r = predict(serving, Fixtures.png(i % 100), "image/png");
              int version = r.statusCode() == 200 ? Json.MAPPER.readTree(r.body()).get("version").asInt() : -1;
              mine.add(new int[] {r.statusCode(), version});
            }
            return null;
          }));
        }
        Fixtures.await(PATIENCE, "answers from v1 under load", () -> count(perClient, 1) >= 10);
        publish(new Promotion(Versioned.CURRENT, "fashion", 2, store.uri("fashion", 2), v2.sha256(), "gate: better", Instant.now()));
        Fixtures.await(PATIENCE, "answers from v2 after the promotion", () -> count(perClient, 2) >= 10);
        stop.set(true);
        for (Future<?> f : running) {
          f.get(60, TimeUnit.SECONDS);
        }
      } finally {
        stop.set(true);
        clients.shutdownNow();
      }
      for (List<int[]> mine : perClient) {
        assertThat(mine).allSatisfy(r -> assertThat(r[0]).as("status").isEqualTo(200));
        // per client the version never goes back: each request starts after the previous one was answered
        int last = 0;
        for (int[] r : mine) {
          assertThat(r[1]).isGreaterThanOrEqualTo(last);
          last = r[1];
        }
      }
      assertThat(serving.servingVersion()).hasValue(2);

      // V2 clients: v1 stays loaded beside v2 (versions.keep), so a request may pin either; each image is a published prediction
      JsonNode meta = Json.MAPPER.readTree(get(serving, "/v2/models/fashion").body());
      assertThat(meta.get("versions")).extracting(JsonNode::asText).containsExactly("1", "2");
      for (String version : List.of("1", "2")) {
        HttpResponse<String> v = post(serving, "/v2/models/fashion/versions/" + version + "/infer", Json.toBytes(Map.of("inputs",
            List.of(Map.of("name", "image", "datatype", "BYTES", "shape", List.of(1),
                "data", List.of(java.util.Base64.getEncoder().encodeToString(Fixtures.png(5))))))), "application/json");
        assertThat(v.statusCode()).as(v.body()).isEqualTo(200);
        JsonNode body = Json.MAPPER.readTree(v.body());
        assertThat(body.get("model_version").asText()).isEqualTo(version);
        String pid = body.get("parameters").get("prediction_ids").get(0).asText();
        Prediction p = Json.fromBytes(read(TOPICS.predictions.name(), pid), Prediction.class);
        assertThat(p.version()).isEqualTo(Integer.parseInt(version));
        assertThat(read(TOPICS.inputs.name(), pid)).isEqualTo(Fixtures.png(5));
      }
      assertThat(get(serving, "/v2/health/ready").statusCode()).isEqualTo(200);

      // an unreadable record is skipped (the gate, the topic's rejecter, sends it to records.rejected), and a promotion whose
      // checksum is wrong is refused: v2 keeps serving
      sendRaw(TOPICS.promotions.name(), "fashion", "{not json".getBytes(StandardCharsets.UTF_8));
      publish(new Promotion(Versioned.CURRENT, "fashion", 1, store.uri("fashion", 1), "ab".repeat(32), "rollback", Instant.now()));
      Fixtures.await(PATIENCE, "the refused promotion on /metrics",
          () -> metric(serving, "streamtune_promotions_refused_total", "reason", "sha256-mismatch") == 1.0);
      assertThat(metric(serving, "streamtune_serving_swaps_total", "outcome", "failed")).as("refused before any load")
          .isNotEqualTo(1.0);
      assertThat(metric(serving, "streamtune_records_skipped_total", "topic", TOPICS.promotions.name())).isEqualTo(1.0);
      assertThat(metric(serving, "streamtune_records_rejected_total", "topic", TOPICS.promotions.name()))
          .as("a serving node rejects no promotion: every node would reject it once").isNotEqualTo(1.0);
      assertThat(metric(serving, "streamtune_serving_model_version", "model", "fashion")).isEqualTo(2.0);
      assertThat(metric(serving, "streamtune_serving_rejected_total", "reason", "not-an-image")).isEqualTo(1.0);
      HttpResponse<String> after = predict(serving, Fixtures.png(2), "image/png");
      assertThat(after.statusCode()).isEqualTo(200);
      assertThat(Json.MAPPER.readTree(after.body()).get("version").asInt()).isEqualTo(2);
      assertThat(serving.servingVersion()).hasValue(2);
      assertThat(get(serving, "/health/ready").statusCode()).isEqualTo(200);
    }

    // a node booting now reads every promotion, refuses the newest (v1, bad checksum) and serves v2 like the others
    try (ServingService fresh = new ServingService(config(store.root(), "fashion"))) {
      fresh.start();
      Fixtures.await(PATIENCE, "the new node ready", () -> fresh.state() == ServiceState.RUNNING);
      assertThat(fresh.servingVersion()).hasValue(2);
      HttpResponse<String> r = predict(fresh, Fixtures.png(3), "image/png");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(Json.MAPPER.readTree(r.body()).get("version").asInt()).isEqualTo(2);
    }
  }

  @Test
  void shouldStayNotReadyWhileTheStoreIsEmptyAndServeTheBaseOnceOneIsStored() throws Exception {
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("serving-it-empty"));

    try (ServingService serving = new ServingService(config(store.root(), "late"))) {
      serving.start();

      HttpResponse<String> ready = get(serving, "/health/ready");
      assertThat(ready.statusCode()).isEqualTo(503);
      assertThat(ready.body()).contains("STARTING");
      HttpResponse<String> early = predict(serving, Fixtures.png(0), "image/png");
      assertThat(early.statusCode()).isEqualTo(503);
      assertThat(Json.MAPPER.readTree(early.body()).get("error").asText()).contains("no model");

      TestModels.storeBase(store, "late", 256);
      Fixtures.await(PATIENCE, "serving ready once a model is stored", () -> serving.state() == ServiceState.RUNNING);
      HttpResponse<String> r = predict(serving, Fixtures.png(0), "image/png");
      assertThat(r.statusCode()).isEqualTo(200);
      assertThat(Json.MAPPER.readTree(r.body()).get("model").asText()).isEqualTo("late");
      assertThat(Json.MAPPER.readTree(r.body()).get("version").asInt()).isEqualTo(1);
    }
  }

  @Test
  void shouldAnswerTheOpenInferenceProtocolOverGrpcAsOverRestAndPublishEveryPredictionTheSameWay() throws Exception {
    DirectoryModelStore store = new DirectoryModelStore(TestData.tempDir("serving-it-grpc"));
    TestModels.storeBase(store, "grpc", 256);
    ManagedChannel channel = null;
    try (ServingService serving = new ServingService(config(store.root(), "grpc"))) {
      serving.start();
      Fixtures.await(PATIENCE, "serving ready", () -> serving.state() == ServiceState.RUNNING);
      assertThat(serving.grpcPort()).isPositive().isNotEqualTo(serving.port());
      channel = NettyChannelBuilder.forAddress("localhost", serving.grpcPort()).usePlaintext().build();
      GRPCInferenceServiceBlockingStub stub = GRPCInferenceServiceGrpc.newBlockingStub(channel)
          .withDeadlineAfter(60, TimeUnit.SECONDS);
      assertThat(stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();

      // the same two PNGs over gRPC (raw bytes) and over REST (base64): the same version, the same probabilities
      InferTensorContents.Builder pngs = InferTensorContents.newBuilder();
      List<String> base64 = new ArrayList<>();
      for (int i : new int[] {5, 6}) {
        pngs.addBytesContents(ByteString.copyFrom(Fixtures.png(i)));
        base64.add(java.util.Base64.getEncoder().encodeToString(Fixtures.png(i)));
      }
      ModelInferResponse grpc = stub.modelInfer(ModelInferRequest.newBuilder().setModelName("grpc").addInputs(
          InferInputTensor.newBuilder().setName("image").setDatatype("BYTES").addShape(2).setContents(pngs)).build());
      HttpResponse<String> rest = post(serving, "/v2/models/grpc/infer", Json.toBytes(Map.of("inputs", List.of(Map.of(
          "name", "image", "datatype", "BYTES", "shape", List.of(2), "data", base64)))), "application/json");
      assertThat(rest.statusCode()).as(rest.body()).isEqualTo(200);
      JsonNode restBody = Json.MAPPER.readTree(rest.body());
      assertThat(grpc.getModelVersion()).isEqualTo(restBody.get("model_version").asText()).isEqualTo("1");
      assertThat(grpc.getOutputs(0).getName()).isEqualTo("probabilities");
      JsonNode restProbabilities = restBody.get("outputs").get(0).get("data");
      assertThat(grpc.getOutputs(0).getContents().getFp32ContentsList()).hasSize(restProbabilities.size());
      for (int i = 0; i < restProbabilities.size(); i++) {
        assertThat((double) grpc.getOutputs(0).getContents().getFp32Contents(i)).isCloseTo(restProbabilities.get(i).asDouble(),
            org.assertj.core.api.Assertions.within(1e-6));
      }

      // each image answered over gRPC is a prediction and an input event, keyed by the id the answer gives, as over REST
      String[] ids = grpc.getParametersMap().get("prediction_ids").getStringParam().split(",");
      assertThat(ids).hasSize(2);
      for (int i = 0; i < 2; i++) {
        Prediction p = Json.fromBytes(read(TOPICS.predictions.name(), ids[i]), Prediction.class);
        assertThat(p.model()).isEqualTo("grpc");
        assertThat(p.version()).isEqualTo(1);
        assertThat(p.predictedLabel()).isEqualTo(grpc.getOutputs(1).getContents().getBytesContents(i * 3).toStringUtf8());
        assertThat(read(TOPICS.inputs.name(), ids[i])).isEqualTo(Fixtures.png(5 + i));
      }
      assertThat(metric(serving, "streamtune_serving_requests_total", "protocol", "grpc")).isEqualTo(2.0);
      assertThat(metric(serving, "streamtune_serving_requests_total", "protocol", "http")).isEqualTo(2.0);
    } finally {
      if (channel != null) {
        channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
      }
    }
  }

  private static long count(List<List<int[]>> perClient, int version) {
    return perClient.stream().mapToLong(l -> {
      synchronized (l) {
        return l.stream().filter(r -> r[1] == version).count();
      }
    }).sum();
  }

  private HttpResponse<String> predict(ServingService s, byte[] body, String contentType) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + s.port() + "/predict"))
        .header("Content-Type", contentType).timeout(Duration.ofSeconds(60))
        .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(ServingService s, String path, byte[] body, String contentType) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + s.port() + path)).timeout(Duration.ofSeconds(30))
        .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(ServingService s, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + s.port() + path)).timeout(Duration.ofSeconds(30))
        .GET().build(), HttpResponse.BodyHandlers.ofString());
  }

  /** A sample of /metrics with the given tag, or NaN when absent. */
  private double metric(ServingService s, String name, String tag, String value) {
    String body;
    try {
      body = get(s, "/metrics").body();
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

  private static void publish(Promotion p) throws Exception {
    Topic<String, Promotion> t = TOPICS.promotions;
    try (KafkaProducer<String, Promotion> producer = KafkaSupport.producer(bootstrap, "it-promoter", t)) {
      producer.send(new ProducerRecord<>(t.name(), p.model(), p)).get(30, TimeUnit.SECONDS);
    }
  }

  private static void sendRaw(String topic, String key, byte[] value) throws Exception {
    try (KafkaProducer<String, byte[]> producer = KafkaSupport.producer(bootstrap, "it-raw", TOPICS.inputs)) {
      producer.send(new ProducerRecord<>(topic, key, value)).get(30, TimeUnit.SECONDS);
    }
  }

  /** The value of the record with this key on a topic, read from the beginning. */
  private static byte[] read(String topic, String key) {
    return readRecord(topic, key).value();
  }

  /** The first record with this key on a topic, read from the beginning. */
  private static ConsumerRecord<String, byte[]> readRecord(String topic, String key) {
    try (KafkaConsumer<String, byte[]> consumer = KafkaSupport.rawConsumer(bootstrap, "it-reader", null)) {
      List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
          .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      long deadline = System.nanoTime() + PATIENCE.toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (key.equals(r.key())) {
            return r;
          }
        }
      }
    }
    throw new AssertionError("no record with key " + key + " on " + topic + " within " + PATIENCE.toSeconds() + " s");
  }
}
