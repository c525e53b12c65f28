package dev.streamtune.serving.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.image.FashionMnist;
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
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The Open Inference Protocol (V2) face with real models, real HTTP and Kafka producers pointed at no broker. */
class OpenInferenceHandlerTest {
  static final int BODY_MAX = 256 * 1024;
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final PrometheusMeterRegistry registry = Metrics.newRegistry("serving-test");
  private final ServingMetrics metrics = new ServingMetrics("fashion");
  private final ModelHolder holder = new ModelHolder(1);
  private final AtomicReference<ServiceState> state = new AtomicReference<>(ServiceState.RUNNING);
  private InferenceBatcher batcher;
  private EventPublisher events;
  private ServiceHttp http;

  OpenInferenceHandlerTest() {
    metrics.bindTo(registry);
  }

  private void serve() {
    serve(true);
  }

  private void serve(boolean startWorker) {
    Topics topics = Topics.withDefaultPrefix();
    batcher = new InferenceBatcher(holder, 8, Duration.ofMillis(1), 64, metrics);
    events = new EventPublisher(EventPublisher.producer(KafkaClients.of("localhost:1"), "test-predictions", topics.predictions),
        EventPublisher.producer(KafkaClients.of("localhost:1"), "test-inputs", topics.inputs), topics.predictions, topics.inputs, 1024, metrics,
        Duration.ZERO);
    http = new ServiceHttp("serving", "localhost", 0, 4, registry, state::get);
    http.route(PredictHandler.PATH, new PredictHandler(holder, batcher, events, metrics, 3, BODY_MAX, Clock.systemUTC()));
    http.route(OpenInferenceHandler.PATH, new OpenInferenceHandler(new OpenInference("fashion", holder, batcher, events, metrics, 3,
        BODY_MAX, state::get, Clock.systemUTC()), holder, metrics, BODY_MAX));
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

  int port() {
    return http.port();
  }

  HttpResponse<String> send(String method, String path, byte[] body, String contentType) throws Exception {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://localhost:" + http.port() + path))
        .timeout(Duration.ofSeconds(60));
    b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
    if (contentType != null) {
      b.header("Content-Type", contentType);
    }
    return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> get(String path) throws Exception {
    return send("GET", path, null, null);
  }

  private HttpResponse<String> infer(String path, Object request) throws Exception {
    return send("POST", path, Json.toBytes(request), "application/json");
  }

  static JsonNode json(HttpResponse<String> r) throws Exception {
    assertThat(r.headers().firstValue("Content-Type")).hasValue("application/json");
    return Json.MAPPER.readTree(r.body());
  }

  /** A V2 request with one input tensor. */
  static Map<String, Object> request(String name, String datatype, List<?> shape, Object data) {
    Map<String, Object> input = new LinkedHashMap<>();
    input.put("name", name);
    input.put("datatype", datatype);
    input.put("shape", shape);
    input.put("data", data);
    Map<String, Object> r = new LinkedHashMap<>();
    r.put("id", "req-1");
    r.put("inputs", List.of(input));
    return r;
  }

  /** Images {@code from..from+n-1} as nested [N,1,28,28] FP32 data. */
  static List<Object> nested(int from, int n) {
    List<Object> batch = new ArrayList<>();
    for (int i = from; i < from + n; i++) {
      float[] px = Fixtures.image(i);
      List<Object> rows = new ArrayList<>();
      for (int y = 0; y < 28; y++) {
        List<Float> row = new ArrayList<>();
        for (int x = 0; x < 28; x++) {
          row.add(px[y * 28 + x]);
        }
        rows.add(row);
      }
      batch.add(List.of(rows));
    }
    return batch;
  }

  static List<Float> flat(int from, int n) {
    List<Float> out = new ArrayList<>();
    for (int i = from; i < from + n; i++) {
      for (float v : Fixtures.image(i)) {
        out.add(v);
      }
    }
    return out;
  }

  static List<String> base64(int from, int n) {
    List<String> out = new ArrayList<>();
    for (int i = from; i < from + n; i++) {
      out.add(Base64.getEncoder().encodeToString(Fixtures.png(i)));
    }
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

  /** Asserts the V2 answer for images {@code from..} equals the direct outputs, and its top label is the arg max. */
  private static void assertAnswers(JsonNode body, List<Map<String, Double>> expected, int k) {
    JsonNode probs = output(body, OpenInference.PROBABILITIES);
    int classes = FashionMnist.LABELS.size();
    assertThat(probs.get("datatype").asText()).isEqualTo("FP32");
    assertThat(probs.get("shape")).extracting(JsonNode::asInt).containsExactly(expected.size(), classes);
    assertThat(probs.get("data")).hasSize(expected.size() * classes);
    JsonNode labels = output(body, OpenInference.LABELS);
    assertThat(labels.get("datatype").asText()).isEqualTo("BYTES");
    assertThat(labels.get("shape")).extracting(JsonNode::asInt).containsExactly(expected.size(), k);
    for (int i = 0; i < expected.size(); i++) {
      for (int c = 0; c < classes; c++) {
        assertThat(probs.get("data").get(i * classes + c).asDouble()).as("image %d class %d", i, c)
            .isCloseTo(expected.get(i).get(FashionMnist.LABELS.get(c)), within(1e-5));
      }
      String best = expected.get(i).entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
      assertThat(labels.get("data").get(i * k).asText()).isEqualTo(best);
    }
  }

  private static List<Map<String, Double>> direct(MultiLayerNetwork net, int from, int n) {
    List<Map<String, Double>> out = new ArrayList<>();
    for (int i = from; i < from + n; i++) {
      out.add(Fixtures.direct(net, Fixtures.image(i)));
    }
    return out;
  }

  /** Serves a real network as v1 and returns its direct outputs on images 0..n-1: what every answer must equal. */
  private List<Map<String, Double>> serveV1AndExpect(int n) {
    MultiLayerNetwork net = Fixtures.net(1);
    List<Map<String, Double>> expected = direct(net, 0, n);
    holder.swap(Fixtures.loaded("fashion", 1, net));
    serve();
    return expected;
  }

  double batches() {
    return registry.find(ServingMetrics.BATCH_SIZE).summary().count();
  }

  @Test
  void shouldServeHealthAndModelMetadataAsTheProtocolDefines() throws Exception {
    holder.swap(Fixtures.loaded("fashion", 3, Fixtures.net(1)));
    serve();

    assertThat(get("/v2/health/live").statusCode()).isEqualTo(200);
    assertThat(json(get("/v2/health/live")).get("live").asBoolean()).isTrue();
    assertThat(json(get("/v2/health/ready")).get("ready").asBoolean()).isTrue();
    assertThat(json(get("/v2")).get("name").asText()).isEqualTo("streamtune");

    for (String path : List.of("/v2/models/fashion", "/v2/models/fashion/versions/3")) {
      HttpResponse<String> r = get(path);
      assertThat(r.statusCode()).as(path).isEqualTo(200);
      JsonNode m = json(r);
      assertThat(m.get("name").asText()).isEqualTo("fashion");
      assertThat(m.get("versions")).extracting(JsonNode::asText).containsExactly("3");
      assertThat(m.get("platform").asText()).isEqualTo(OpenInference.PLATFORM);
      JsonNode in = m.get("inputs").get(0);
      assertThat(in.get("name").asText()).isEqualTo("input");
      assertThat(in.get("datatype").asText()).isEqualTo("FP32");
      assertThat(in.get("shape")).extracting(JsonNode::asInt).containsExactly(-1, 1, 28, 28);
      JsonNode image = m.get("inputs").get(1);
      assertThat(image.get("datatype").asText()).isEqualTo("BYTES");
      assertThat(m.get("outputs")).extracting(o -> o.get("name").asText()).containsExactly("probabilities", "labels");
      assertThat(m.get("outputs").get(0).get("shape")).extracting(JsonNode::asInt).containsExactly(-1, 10);
    }
    HttpResponse<String> ready = get("/v2/models/fashion/versions/3/ready");
    assertThat(ready.statusCode()).isEqualTo(200);
    assertThat(json(ready).get("ready").asBoolean()).isTrue();
    assertThat(json(get("/v2/models/fashion/ready")).get("name").asText()).isEqualTo("fashion");

    HttpResponse<String> unknown = get("/v2/models/shoes");
    assertThat(unknown.statusCode()).isEqualTo(404);
    assertThat(json(unknown).get("error").asText()).contains("unknown model 'shoes'", "fashion");
    HttpResponse<String> version = get("/v2/models/fashion/versions/7/ready");
    assertThat(version.statusCode()).isEqualTo(404);
    assertThat(json(version).get("error").asText()).contains("version '7'", "loaded versions: [3]");
    HttpResponse<String> post = send("POST", "/v2/models/fashion", new byte[0], null);
    assertThat(post.statusCode()).isEqualTo(405);
    assertThat(post.headers().firstValue("Allow")).hasValue("GET");
  }

  @Test
  void shouldAnswerFp32AndBytesTensorsExactlyAsADirectOutputOnTheSameImages() throws Exception {
    List<Map<String, Double>> expected = serveV1AndExpect(4);

    HttpResponse<String> nchw = infer("/v2/models/fashion/infer", request("input", "FP32", List.of(4, 1, 28, 28), nested(0, 4)));
    assertThat(nchw.statusCode()).as(nchw.body()).isEqualTo(200);
    JsonNode body = json(nchw);
    assertThat(body.get("model_name").asText()).isEqualTo("fashion");
    assertThat(body.get("model_version").asText()).isEqualTo("1");
    assertThat(body.get("id").asText()).isEqualTo("req-1");
    assertThat(body.get("parameters").get("prediction_ids")).hasSize(4);
    assertAnswers(body, expected, 3);

    HttpResponse<String> flat = infer("/v2/models/fashion/versions/1/infer", request("input", "FP32", List.of(4, 784), flat(0, 4)));
    assertThat(flat.statusCode()).as(flat.body()).isEqualTo(200);
    assertAnswers(json(flat), expected, 3);

    HttpResponse<String> flatData = infer("/v2/models/fashion/infer", request("input", "FP32", List.of(4, 1, 28, 28), flat(0, 4)));
    assertThat(flatData.statusCode()).as(flatData.body()).isEqualTo(200);
    assertAnswers(json(flatData), expected, 3);

    HttpResponse<String> bytes = infer("/v2/models/fashion/infer", request("image", "BYTES", List.of(4), base64(0, 4)));
    assertThat(bytes.statusCode()).as(bytes.body()).isEqualTo(200);
    assertAnswers(json(bytes), expected, 3);

    Map<String, Object> onlyLabels = request("image", "BYTES", List.of(4), base64(0, 4));
    onlyLabels.put("outputs", List.of(Map.of("name", "labels", "parameters", Map.of("classification", 5))));
    JsonNode labels = json(infer("/v2/models/fashion/infer", onlyLabels));
    assertThat(labels.get("outputs")).hasSize(1);
    assertThat(output(labels, "labels").get("shape")).extracting(JsonNode::asInt).containsExactly(4, 5);
    onlyLabels.put("outputs", List.of(Map.of("name", "labels", "parameters", Map.of("classification", Integer.MAX_VALUE))));
    JsonNode all = json(infer("/v2/models/fashion/infer", onlyLabels));
    assertThat(output(all, "labels").get("shape")).as("capped at the label count").extracting(JsonNode::asInt)
        .containsExactly(4, 10);

    // every image is a prediction: both events were tried for each (and counted as failed, there being no broker)
    Fixtures.await(Duration.ofSeconds(30), "failed events counted for 6 requests of 4 images",
        () -> registry.find(ServingMetrics.EVENTS_FAILED).tags("topic", "streamtune.inputs").counter() != null
            && registry.find(ServingMetrics.EVENTS_FAILED).tags("topic", "streamtune.inputs").counter().count() == 24.0);
    assertThat(registry.find(ServingMetrics.REQUESTS).tags("version", "1", "outcome", "ok").counter().count()).isEqualTo(24.0);
  }

  /** A request of the binary tensor data extension: the JSON, then {@code binary}; its header gives the JSON's length. */
  private HttpResponse<byte[]> binary(Map<String, Object> json, byte[] binary, String headerLength) throws Exception {
    byte[] head = Json.toBytes(json);
    byte[] body = java.util.Arrays.copyOf(head, head.length + binary.length);
    System.arraycopy(binary, 0, body, head.length, binary.length);
    HttpRequest r = HttpRequest.newBuilder(URI.create("http://localhost:" + http.port() + "/v2/models/fashion/infer"))
        .timeout(Duration.ofSeconds(60)).POST(HttpRequest.BodyPublishers.ofByteArray(body))
        .header("Content-Type", "application/octet-stream")
        .header("Inference-Header-Content-Length", headerLength != null ? headerLength : Integer.toString(head.length)).build();
    return client.send(r, HttpResponse.BodyHandlers.ofByteArray());
  }

  /** A binary-extension input tensor: no data, its size in bytes as a parameter. */
  static Map<String, Object> binaryRequest(String name, String datatype, List<?> shape, int size, boolean binaryOutputs) {
    Map<String, Object> r = request(name, datatype, shape, null);
    @SuppressWarnings("unchecked")
    Map<String, Object> input = (Map<String, Object>) ((List<?>) r.get("inputs")).get(0);
    input.remove("data");
    input.put("parameters", Map.of("binary_data_size", size));
    if (binaryOutputs) {
      r.put("parameters", Map.of("binary_data_output", true));
    }
    return r;
  }

  static byte[] fp32Bytes(int from, int n) {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * 784 * n).order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (int i = from; i < from + n; i++) {
      for (float v : Fixtures.image(i)) {
        b.putFloat(v);
      }
    }
    return b.array();
  }

  @Test
  void shouldAnswerBinaryTensorDataAsTheJsonAnswerAndRefuseInconsistentOnesNamingTheProblem() throws Exception {
    List<Map<String, Double>> expected = serveV1AndExpect(4);
    assertThat(json(get("/v2")).get("extensions")).extracting(JsonNode::asText).containsExactly("binary_tensor_data");

    // binary in, JSON out: the same answer as the JSON request's
    byte[] fp32 = fp32Bytes(0, 4);
    HttpResponse<byte[]> jsonOut = binary(binaryRequest("input", "FP32", List.of(4, 784), fp32.length, false), fp32, null);
    assertThat(jsonOut.statusCode()).as(new String(jsonOut.body())).isEqualTo(200);
    assertThat(jsonOut.headers().firstValue("Content-Type")).hasValue("application/json");
    assertAnswers(Json.MAPPER.readTree(jsonOut.body()), expected, 3);

    // binary in, binary out: little-endian floats and length-prefixed labels after the JSON header
    HttpResponse<byte[]> binOut = binary(binaryRequest("input", "FP32", List.of(4, 1, 28, 28), fp32.length, true), fp32, null);
    assertThat(binOut.statusCode()).isEqualTo(200);
    assertThat(binOut.headers().firstValue("Content-Type")).hasValue("application/octet-stream");
    int headerLength = Integer.parseInt(binOut.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
    JsonNode head = Json.MAPPER.readTree(java.util.Arrays.copyOf(binOut.body(), headerLength));
    JsonNode probs = output(head, OpenInference.PROBABILITIES);
    assertThat(probs.has("data")).isFalse();
    assertThat(probs.get("parameters").get("binary_data_size").asInt()).isEqualTo(4 * 10 * 4);
    JsonNode labels = output(head, OpenInference.LABELS);
    java.nio.ByteBuffer data = java.nio.ByteBuffer.wrap(binOut.body(), headerLength, binOut.body().length - headerLength)
        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    assertThat(data.remaining()).isEqualTo(160 + labels.get("parameters").get("binary_data_size").asInt());
    for (int i = 0; i < 4; i++) {
      for (int c = 0; c < 10; c++) {
        assertThat((double) data.getFloat()).as("image %d class %d", i, c)
            .isCloseTo(expected.get(i).get(FashionMnist.LABELS.get(c)), within(1e-5));
      }
    }
    for (int i = 0; i < 4; i++) {
      for (int j = 0; j < 3; j++) {
        byte[] label = new byte[data.getInt()];
        data.get(label);
        if (j == 0) {
          String best = expected.get(i).entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
          assertThat(new String(label, java.nio.charset.StandardCharsets.UTF_8)).isEqualTo(best);
        }
      }
    }
    assertThat(data.hasRemaining()).isFalse();

    // BYTES: encoded images, each after its 4-byte little-endian length; only the labels asked as binary
    java.io.ByteArrayOutputStream pngs = new java.io.ByteArrayOutputStream();
    for (int i = 0; i < 4; i++) {
      byte[] png = Fixtures.png(i);
      pngs.writeBytes(java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(png.length).array());
      pngs.writeBytes(png);
    }
    Map<String, Object> bytesReq = binaryRequest("image", "BYTES", List.of(4), pngs.size(), false);
    bytesReq.put("outputs", List.of(Map.of("name", "probabilities"), Map.of("name", "labels", "parameters",
        Map.of("binary_data", true))));
    HttpResponse<byte[]> mixed = binary(bytesReq, pngs.toByteArray(), null);
    assertThat(mixed.statusCode()).as(new String(mixed.body())).isEqualTo(200);
    int mixedHeader = Integer.parseInt(mixed.headers().firstValue("Inference-Header-Content-Length").orElseThrow());
    JsonNode mixedHead = Json.MAPPER.readTree(java.util.Arrays.copyOf(mixed.body(), mixedHeader));
    assertThat(output(mixedHead, OpenInference.PROBABILITIES).get("data")).hasSize(40);
    assertThat(output(mixedHead, OpenInference.LABELS).has("data")).isFalse();

    double before = batches();
    Map<String, Object> ok = binaryRequest("input", "FP32", List.of(4, 784), fp32.length, false);
    List<Object[]> bad = List.of(
        new Object[] {binaryRequest("input", "FP32", List.of(4, 784), fp32.length - 4, false), fp32, null, "binary_data_size"},
        new Object[] {binaryRequest("input", "FP32", List.of(3, 784), fp32.length, false), fp32, null, "needs " + 4 * 784 * 3},
        new Object[] {ok, fp32, "99999999", "Inference-Header-Content-Length"},
        new Object[] {ok, fp32, "x", "Inference-Header-Content-Length"},
        new Object[] {request("input", "FP32", List.of(4, 784), flat(0, 4)), fp32, null, "no input has \"binary_data_size\""},
        new Object[] {binaryRequest("image", "BYTES", List.of(4), 12, false), new byte[] {9, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8},
            null, "4-byte little-endian length"});
    for (Object[] b : bad) {
      @SuppressWarnings("unchecked")
      HttpResponse<byte[]> r = binary((Map<String, Object>) b[0], (byte[]) b[1], (String) b[2]);
      assertThat(r.statusCode()).as("%s", b[3]).isEqualTo(400);
      assertThat(Json.MAPPER.readTree(r.body()).get("error").asText()).contains((String) b[3]);
    }
    Map<String, Object> both = binaryRequest("input", "FP32", List.of(4, 784), fp32.length, false);
    @SuppressWarnings("unchecked")
    Map<String, Object> in = (Map<String, Object>) ((List<?>) both.get("inputs")).get(0);
    in.put("data", flat(0, 4));
    HttpResponse<byte[]> twice = binary(both, fp32, null);
    assertThat(twice.statusCode()).isEqualTo(400);
    assertThat(new String(twice.body())).contains("both");
    HttpResponse<String> noHeader = send("POST", "/v2/models/fashion/infer", fp32, "application/octet-stream");
    assertThat(noHeader.statusCode()).isEqualTo(415);
    assertThat(json(noHeader).get("error").asText()).contains("Inference-Header-Content-Length");
    assertThat(batches()).as("no refused request reached inference").isEqualTo(before);
  }

  @Test
  void shouldRefuseEachMalformedRequestWithA4xxNamingTheProblemAndNoInference() throws Exception {
    holder.swap(Fixtures.loaded("fashion", 1, Fixtures.net(1)));
    serve();
    String infer = "/v2/models/fashion/infer";
    record Case(String path, String method, byte[] body, String type, int status, String says) {}
    List<Case> cases = new ArrayList<>();
    cases.add(new Case(infer, "POST", "{\"inputs\": [".getBytes(), "application/json", 400, "invalid JSON"));
    cases.add(new Case(infer, "POST", "[1,2]".getBytes(), "application/json", 400, "JSON object"));
    cases.add(new Case(infer, "POST", new byte[0], "application/json", 400, "empty body"));
    cases.add(new Case(infer, "POST", "{}".getBytes(), null, 400, "\"inputs\""));
    cases.add(new Case(infer, "POST", Json.toBytes(request("input", "FP32", List.of(1, 3, 28, 28), flat(0, 3))),
        "application/json", 400, "does not fit the model"));
    cases.add(new Case(infer, "POST", Json.toBytes(request("input", "FP32", List.of(2, 784), flat(0, 1))), "application/json",
        400, "holds 784 values but shape [2,784] needs 1568"));
    cases.add(new Case(infer, "POST", Json.toBytes(request("input", "FP32", List.of(1, 784), base64(0, 1))), "application/json",
        400, "FP32 but its data holds a string"));
    cases.add(new Case(infer, "POST", Json.toBytes(request("input", "INT8", List.of(1, 784), flat(0, 1))), "application/json",
        400, "datatype 'INT8' is not supported"));
    cases.add(new Case(infer, "POST", Json.toBytes(request("image", "BYTES", List.of(1), List.of(1))), "application/json", 400,
        "BYTES but its data holds number"));
    cases.add(new Case(infer, "POST", Json.toBytes(request("image", "BYTES", List.of(1), List.of("%%%"))), "application/json",
        400, "not base64"));
    cases.add(new Case(infer, "POST", Json.toBytes(request("image", "BYTES", List.of(1), List.of("aGVsbG8="))),
        "application/json", 400, "not a decodable image"));
    cases.add(new Case(infer, "POST", Json.toBytes(request("input", "FP32", List.of(1L << 40, 784), flat(0, 1))),
        "application/json", 400, "more values than a request body"));
    cases.add(new Case(infer, "POST", Json.toBytes(request("input", "FP32", List.of(Long.MAX_VALUE, 784, 784), flat(0, 1))),
        "application/json", 400, "too large"));
    List<Float> bright = new ArrayList<>(flat(0, 1));
    bright.set(5, 255f);
    cases.add(new Case(infer, "POST", Json.toBytes(request("input", "FP32", List.of(1, 784), bright)), "application/json", 400,
        "[0,1]"));
    Map<String, Object> badOutput = request("input", "FP32", List.of(1, 784), flat(0, 1));
    badOutput.put("outputs", List.of(Map.of("name", "logits")));
    cases.add(new Case(infer, "POST", Json.toBytes(badOutput), "application/json", 400, "unknown output 'logits'"));
    cases.add(new Case(infer, "POST", Json.toBytes(request("input", "FP32", List.of(1, 784), flat(0, 1))), "text/plain", 415,
        "text/plain"));
    cases.add(new Case(infer, "POST", new byte[BODY_MAX + 1], "application/json", 413, "over the limit"));
    cases.add(new Case(infer, "GET", null, null, 405, "use POST"));
    cases.add(new Case("/v2/models/shoes/infer", "POST", Json.toBytes(request("input", "FP32", List.of(1, 784), flat(0, 1))),
        "application/json", 404, "unknown model 'shoes'"));
    cases.add(new Case("/v2/models/fashion/versions/9/infer", "POST",
        Json.toBytes(request("input", "FP32", List.of(1, 784), flat(0, 1))), "application/json", 404, "loaded versions: [1]"));
    cases.add(new Case("/v2/models/fashion/versions/one/infer", "POST",
        Json.toBytes(request("input", "FP32", List.of(1, 784), flat(0, 1))), "application/json", 404, "version 'one'"));
    cases.add(new Case("/v2/models/fashion/explain", "POST", "{}".getBytes(), "application/json", 404, "no such path"));

    for (Case c : cases) {
      HttpResponse<String> r = send(c.method(), c.path(), c.body(), c.type());
      assertThat(r.statusCode()).as("%s %s -> %s", c.method(), c.path(), r.body()).isEqualTo(c.status());
      assertThat(json(r).get("error").asText()).as(c.path()).contains(c.says());
    }
    assertThat(batches()).as("no inference ran").isZero();

    HttpResponse<String> ok = infer(infer, request("input", "FP32", List.of(1, 784), flat(0, 1)));
    assertThat(ok.statusCode()).as("still serving").isEqualTo(200);
  }

  @Test
  void shouldAnswer503WhileNoModelIsLoaded() throws Exception {
    state.set(ServiceState.STARTING);
    serve();

    HttpResponse<String> ready = get("/v2/health/ready");
    assertThat(ready.statusCode()).isEqualTo(503);
    assertThat(json(ready).get("ready").asBoolean()).isFalse();
    HttpResponse<String> meta = get("/v2/models/fashion");
    assertThat(meta.statusCode()).isEqualTo(503);
    assertThat(json(meta).get("error").asText()).contains("not ready");
    HttpResponse<String> r = infer("/v2/models/fashion/infer", request("input", "FP32", List.of(1, 784), flat(0, 1)));
    assertThat(r.statusCode()).isEqualTo(503);
    assertThat(r.headers().firstValue("Retry-After")).isPresent();
    assertThat(get("/v2/health/live").statusCode()).isEqualTo(200);
  }

  @Test
  void shouldAnswerAPinnedVersionWithThatVersionAndRefuseOneNoLongerLoaded() throws Exception {
    MultiLayerNetwork netA = Fixtures.net(1);
    MultiLayerNetwork netB = Fixtures.net(2);
    List<Map<String, Double>> expectedA = direct(netA, 0, 2);
    List<Map<String, Double>> expectedB = direct(netB, 0, 2);
    assertThat(expectedA.get(0)).isNotEqualTo(expectedB.get(0));
    holder.swap(Fixtures.loaded("fashion", 1, netA));
    holder.swap(Fixtures.loaded("fashion", 2, netB)); // serving v2, v1 kept (keep 1)
    serve();

    JsonNode v1 = json(infer("/v2/models/fashion/versions/1/infer", request("image", "BYTES", List.of(2), base64(0, 2))));
    assertThat(v1.get("model_version").asText()).isEqualTo("1");
    assertAnswers(v1, expectedA, 3);
    JsonNode v2 = json(infer("/v2/models/fashion/versions/2/infer", request("image", "BYTES", List.of(2), base64(0, 2))));
    assertThat(v2.get("model_version").asText()).isEqualTo("2");
    assertAnswers(v2, expectedB, 3);
    JsonNode serving = json(infer("/v2/models/fashion/infer", request("image", "BYTES", List.of(2), base64(0, 2))));
    assertThat(serving.get("model_version").asText()).isEqualTo("2");
    assertThat(json(get("/v2/models/fashion")).get("versions")).extracting(JsonNode::asText).containsExactly("1", "2");

    holder.swap(Fixtures.loaded("fashion", 3, Fixtures.net(1))); // v1 falls out: serving v3, v2 kept
    HttpResponse<String> gone = infer("/v2/models/fashion/versions/1/infer", request("image", "BYTES", List.of(2), base64(0, 2)));
    assertThat(gone.statusCode()).isEqualTo(404);
    assertThat(json(gone).get("error").asText()).contains("version '1'", "loaded versions: [2, 3]");
    JsonNode stillV2 = json(infer("/v2/models/fashion/versions/2/infer", request("image", "BYTES", List.of(2), base64(0, 2))));
    assertAnswers(stillV2, expectedB, 3);
  }

  /** A few hundred malformed requests of many kinds, seeded so a failure repeats. */
  private static List<Object[]> malformed(java.util.Random rnd) {
    List<Object[]> out = new ArrayList<>(); // {method, path, body, content type}
    String infer = "/v2/models/fashion/infer";
    byte[] valid = Json.toBytes(request("input", "FP32", List.of(1, 784), flat(0, 1)));
    List<String> datatypes = List.of("INT32", "FP64", "fp32", "BOOL", "", "UINT8", "BF16", "bytes");
    for (int i = 0; i < 60; i++) { // random bytes
      byte[] b = new byte[1 + rnd.nextInt(400)];
      rnd.nextBytes(b);
      out.add(new Object[] {"POST", infer, b, rnd.nextBoolean() ? "application/json" : null});
    }
    for (int i = 0; i < 60; i++) { // truncated JSON: a prefix of a valid request
      out.add(new Object[] {"POST", infer, java.util.Arrays.copyOf(valid, rnd.nextInt(valid.length)), "application/json"});
    }
    for (int i = 0; i < 60; i++) { // wrong shapes, huge dims
      List<Object> shape = new ArrayList<>();
      int rank = rnd.nextInt(6);
      for (int d = 0; d < rank; d++) {
        shape.add(switch (rnd.nextInt(6)) {
          case 0 -> Long.MAX_VALUE;
          case 1 -> -1 - rnd.nextInt(5);
          case 2 -> 1.5;
          case 3 -> rnd.nextInt(3);
          case 4 -> 1L << (20 + rnd.nextInt(40));
          default -> rnd.nextInt(2000);
        });
      }
      if (shape.equals(List.of(1, 784))) {
        shape.add(7);
      }
      out.add(new Object[] {"POST", infer, Json.toBytes(request("input", "FP32", shape, flat(0, 1))), "application/json"});
    }
    for (int i = 0; i < 40; i++) { // wrong datatypes, or data of another type than the one named
      Map<String, Object> r = switch (rnd.nextInt(4)) {
        case 0 -> request("input", datatypes.get(rnd.nextInt(datatypes.size())), List.of(1, 784), flat(0, 1));
        case 1 -> request("input", "FP32", List.of(1, 784), java.util.Collections.nCopies(784, "0.5"));
        case 2 -> request("image", "BYTES", List.of(1), List.of(rnd.nextInt()));
        default -> {
          byte[] junk = new byte[1 + rnd.nextInt(200)];
          rnd.nextBytes(junk);
          yield request("image", "BYTES", List.of(1), List.of(Base64.getEncoder().encodeToString(junk)));
        }
      };
      out.add(new Object[] {"POST", infer, Json.toBytes(r), "application/json"});
    }
    List<String> types = List.of("text/plain", "image/png", "application/xml", "multipart/form-data", "application/octet-stream");
    for (int i = 0; i < 30; i++) { // wrong content types
      out.add(new Object[] {"POST", infer, valid, types.get(rnd.nextInt(types.size()))});
    }
    for (int i = 0; i < 30; i++) { // unknown models and versions, wrong methods
      String path = switch (rnd.nextInt(4)) {
        case 0 -> "/v2/models/m" + rnd.nextInt(1000) + "/infer";
        case 1 -> "/v2/models/fashion/versions/" + (rnd.nextBoolean() ? "x" + rnd.nextInt(9) : String.valueOf(2 + rnd.nextInt(99)))
            + "/infer";
        case 2 -> "/v2/models/fashion/versions/-1/ready";
        default -> "/v2/models/fashion/" + rnd.nextInt(100);
      };
      out.add(new Object[] {rnd.nextInt(5) == 0 ? "PUT" : "POST", path, valid, "application/json"});
    }
    for (int i = 0; i < 20; i++) { // structurally wrong requests
      Object body = switch (rnd.nextInt(5)) {
        case 0 -> Map.of("inputs", List.of());
        case 1 -> Map.of("inputs", "image");
        case 2 -> Map.of("inputs", List.of(request("input", "FP32", List.of(1, 784), flat(0, 1)).get("inputs"),
            Map.of("name", "x")));
        case 3 -> Map.of("id", 42, "inputs", request("input", "FP32", List.of(1, 784), flat(0, 1)).get("inputs"));
        default -> Map.of("inputs", List.of(Map.of("name", "input", "datatype", "FP32", "shape", List.of(1, 784))));
      };
      out.add(new Object[] {"POST", infer, Json.toBytes(body), "application/json"});
    }
    return out;
  }

  @Test
  void shouldAnswerEveryMalformedRequestOfAFuzzedStreamWith4xxAndStillAnswerCorrectOnesAfter() throws Exception {
    MultiLayerNetwork net = Fixtures.net(1);
    List<Map<String, Double>> expected = direct(net, 0, 2);
    holder.swap(Fixtures.loaded("fashion", 1, net));
    serve();
    java.util.Random rnd = new java.util.Random(20261124);

    List<Object[]> requests = malformed(rnd);
    assertThat(requests).hasSizeGreaterThanOrEqualTo(300);
    // from a few clients at once, as a load balancer would pass them on
    java.util.concurrent.ExecutorService clients = java.util.concurrent.Executors.newFixedThreadPool(4);
    try {
      List<java.util.concurrent.Future<HttpResponse<String>>> answers = new ArrayList<>();
      for (Object[] q : requests) {
        answers.add(clients.submit(() -> send((String) q[0], (String) q[1], (byte[]) q[2], (String) q[3])));
      }
      for (int i = 0; i < requests.size(); i++) {
        Object[] q = requests.get(i);
        HttpResponse<String> r = answers.get(i).get(60, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(r.statusCode()).as("%s %s (%s): %s", q[0], q[1], q[3], r.body()).isBetween(400, 499);
        assertThat(json(r).get("error").asText()).isNotBlank();
      }
    } finally {
      clients.shutdownNow();
    }
    assertThat(batches()).as("no malformed request reached inference").isZero();

    assertAnswers(json(infer("/v2/models/fashion/infer", request("image", "BYTES", List.of(2), base64(0, 2)))), expected, 3);
    assertAnswers(json(infer("/v2/models/fashion/infer", request("input", "FP32", List.of(2, 1, 28, 28), nested(0, 2)))),
        expected, 3);
  }

  @Test
  void shouldAnswer429WithRetryAfterWhenTheImagesOfARequestDoNotFitTheQueue() throws Exception {
    holder.swap(Fixtures.loaded("fashion", 1, Fixtures.net(1)));
    serve(false); // the worker does not run: queued images stay queued
    java.util.concurrent.CompletableFuture<HttpResponse<String>> waiting = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
      try {
        return infer("/v2/models/fashion/infer", request("input", "FP32", List.of(60, 784), java.util.Collections.nCopies(60 * 784,
            0.5f)));
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    Fixtures.await(Duration.ofSeconds(30), "60 images queued", () -> batcher.depth() == 60);

    HttpResponse<String> full = infer("/v2/models/fashion/infer", request("input", "FP32", List.of(5, 784), java.util.Collections
        .nCopies(5 * 784, 0.5f)));
    assertThat(full.statusCode()).isEqualTo(429);
    assertThat(full.headers().firstValue("Retry-After")).hasValue("1");
    assertThat(json(full).get("error").asText()).contains("queue full");
    assertThat(batcher.depth()).as("none of the refused request's images queued").isEqualTo(60);

    batcher.close();
    assertThat(waiting.get(60, java.util.concurrent.TimeUnit.SECONDS).statusCode()).isEqualTo(503);
  }
}
