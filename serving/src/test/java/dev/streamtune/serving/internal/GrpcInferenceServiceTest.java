package dev.streamtune.serving.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.JsonNode;
import com.google.protobuf.ByteString;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.metrics.Metrics;
import dev.streamtune.serving.Fixtures;
import inference.GRPCInferenceServiceGrpc;
import inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub;
import inference.OpenInferenceGrpc.InferParameter;
import inference.OpenInferenceGrpc.InferTensorContents;
import inference.OpenInferenceGrpc.ModelInferRequest;
import inference.OpenInferenceGrpc.ModelInferRequest.InferInputTensor;
import inference.OpenInferenceGrpc.ModelInferRequest.InferRequestedOutputTensor;
import inference.OpenInferenceGrpc.ModelInferResponse;
import inference.OpenInferenceGrpc.ModelInferResponse.InferOutputTensor;
import inference.OpenInferenceGrpc.ModelMetadataRequest;
import inference.OpenInferenceGrpc.ModelMetadataResponse;
import inference.OpenInferenceGrpc.ModelReadyRequest;
import inference.OpenInferenceGrpc.ServerLiveRequest;
import inference.OpenInferenceGrpc.ServerMetadataRequest;
import inference.OpenInferenceGrpc.ServerReadyRequest;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.MetadataUtils;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Open Inference Protocol over gRPC: a real Netty client on a real port against the gRPC binding and, beside it, the REST
 * binding over the same {@link OpenInference}, batcher and real models (Kafka producers pointed at no broker).
 */
class GrpcInferenceServiceTest {
  private static final int BODY_MAX = 256 * 1024;
  private final PrometheusMeterRegistry registry = Metrics.newRegistry("serving-test");
  private final ServingMetrics metrics = new ServingMetrics("fashion");
  private final ModelHolder holder = new ModelHolder(1);
  private final AtomicReference<ServiceState> state = new AtomicReference<>(ServiceState.RUNNING);
  private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private InferenceBatcher batcher;
  private EventPublisher events;
  private ServiceHttp http;
  private GrpcEndpoint grpc;
  private ManagedChannel channel;

  GrpcInferenceServiceTest() {
    metrics.bindTo(registry);
  }

  private GRPCInferenceServiceBlockingStub serve(boolean startWorker, String token) {
    Topics topics = Topics.withDefaultPrefix();
    batcher = new InferenceBatcher(holder, 8, Duration.ofMillis(1), 64, metrics);
    events = new EventPublisher(EventPublisher.producer(KafkaClients.of("localhost:1"), "test-predictions", topics.predictions),
        EventPublisher.producer(KafkaClients.of("localhost:1"), "test-inputs", topics.inputs), topics.predictions, topics.inputs,
        1024, metrics, Duration.ZERO);
    OpenInference protocol = new OpenInference("fashion", holder, batcher, events, metrics, 3, BODY_MAX, state::get,
        Clock.systemUTC());
    http = new ServiceHttp("serving", "localhost", 0, 4, registry, state::get);
    http.route(OpenInferenceHandler.PATH, new OpenInferenceHandler(protocol, holder, metrics, BODY_MAX));
    http.start();
    grpc = new GrpcEndpoint(new GrpcInferenceService(protocol, holder, metrics), "localhost", 0, 4, BODY_MAX, token, null);
    grpc.start();
    if (startWorker) {
      batcher.start();
    }
    channel = NettyChannelBuilder.forAddress("localhost", grpc.port()).usePlaintext().build();
    return GRPCInferenceServiceGrpc.newBlockingStub(channel).withDeadlineAfter(60, TimeUnit.SECONDS);
  }

  private GRPCInferenceServiceBlockingStub serve() {
    return serve(true, null);
  }

  @AfterEach
  void close() throws Exception {
    if (channel != null) {
      channel.shutdownNow().awaitTermination(10, TimeUnit.SECONDS);
    }
    if (grpc != null) {
      grpc.close();
      http.close();
      batcher.close();
      events.close();
    }
  }

  /** Images {@code from..from+n-1} as flat values, row by row. */
  private static float[] pixels(int from, int n) {
    float[] out = new float[n * 784];
    for (int i = 0; i < n; i++) {
      System.arraycopy(Fixtures.image(from + i), 0, out, i * 784, 784);
    }
    return out;
  }

  private static ByteString littleEndian(float[] values) {
    ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return ByteString.copyFrom(b.array());
  }

  private static InferInputTensor.Builder input(String name, String datatype, long... shape) {
    InferInputTensor.Builder t = InferInputTensor.newBuilder().setName(name).setDatatype(datatype);
    for (long d : shape) {
      t.addShape(d);
    }
    return t;
  }

  /** FP32 {@code [n,1,28,28]} in raw_input_contents. */
  private static ModelInferRequest.Builder raw(int from, int n) {
    return ModelInferRequest.newBuilder().setModelName("fashion").setId("req-1").addInputs(input("input", "FP32", n, 1, 28, 28))
        .addRawInputContents(littleEndian(pixels(from, n)));
  }

  /** FP32 {@code [n,784]} in typed contents. */
  private static ModelInferRequest.Builder typed(int from, int n) {
    InferTensorContents.Builder c = InferTensorContents.newBuilder();
    for (float v : pixels(from, n)) {
      c.addFp32Contents(v);
    }
    return ModelInferRequest.newBuilder().setModelName("fashion").addInputs(input("input", "FP32", n, 784).setContents(c));
  }

  /** BYTES {@code [n]} of PNGs in typed contents. */
  private static ModelInferRequest.Builder pngs(int from, int n) {
    InferTensorContents.Builder c = InferTensorContents.newBuilder();
    for (int i = from; i < from + n; i++) {
      c.addBytesContents(ByteString.copyFrom(Fixtures.png(i)));
    }
    return ModelInferRequest.newBuilder().setModelName("fashion").addInputs(input("image", "BYTES", n).setContents(c));
  }

  private static float[] probabilities(ModelInferResponse r) {
    for (int i = 0; i < r.getOutputsCount(); i++) {
      InferOutputTensor o = r.getOutputs(i);
      if (o.getName().equals(OpenInference.PROBABILITIES)) {
        if (r.getRawOutputContentsCount() > 0) {
          ByteBuffer b = r.getRawOutputContents(i).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
          float[] out = new float[b.remaining() / 4];
          b.asFloatBuffer().get(out);
          return out;
        }
        float[] out = new float[o.getContents().getFp32ContentsCount()];
        for (int j = 0; j < out.length; j++) {
          out[j] = o.getContents().getFp32Contents(j);
        }
        return out;
      }
    }
    throw new AssertionError("no probabilities in " + r);
  }

  private static List<String> labels(ModelInferResponse r) {
    for (int i = 0; i < r.getOutputsCount(); i++) {
      InferOutputTensor o = r.getOutputs(i);
      if (o.getName().equals(OpenInference.LABELS)) {
        List<String> out = new ArrayList<>();
        if (r.getRawOutputContentsCount() > 0) {
          ByteBuffer b = r.getRawOutputContents(i).asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN);
          while (b.hasRemaining()) {
            byte[] s = new byte[b.getInt()];
            b.get(s);
            out.add(new String(s, StandardCharsets.UTF_8));
          }
        } else {
          o.getContents().getBytesContentsList().forEach(s -> out.add(s.toStringUtf8()));
        }
        return out;
      }
    }
    throw new AssertionError("no labels in " + r);
  }

  private static InferOutputTensor output(ModelInferResponse r, String name) {
    return r.getOutputsList().stream().filter(o -> o.getName().equals(name)).findFirst().orElseThrow();
  }

  /** The REST binding's probabilities for the same images, sent as a flat FP32 tensor. */
  private float[] rest(String path, int from, int n) throws Exception {
    List<Float> data = new ArrayList<>();
    for (float v : pixels(from, n)) {
      data.add(v);
    }
    byte[] body = Json.toBytes(Map.of("inputs", List.of(Map.of("name", "input", "datatype", "FP32", "shape", List.of(n, 784),
        "data", data))));
    HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("http://localhost:" + http.port() + path))
        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(),
        HttpResponse.BodyHandlers.ofString());
    assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
    for (JsonNode o : Json.MAPPER.readTree(r.body()).get("outputs")) {
      if (o.get("name").asText().equals(OpenInference.PROBABILITIES)) {
        float[] out = new float[o.get("data").size()];
        for (int i = 0; i < out.length; i++) {
          out[i] = (float) o.get("data").get(i).asDouble();
        }
        return out;
      }
    }
    throw new AssertionError("no probabilities in " + r.body());
  }

  private static void assertClose(float[] actual, float[] expected) {
    assertThat(actual).hasSameSizeAs(expected);
    for (int i = 0; i < expected.length; i++) {
      assertThat((double) actual[i]).as("value %d", i).isCloseTo(expected[i], within(1e-6));
    }
  }

  private static Status.Code code(Runnable call) {
    try {
      call.run();
    } catch (StatusRuntimeException e) {
      return e.getStatus().getCode();
    }
    throw new AssertionError("the call succeeded");
  }

  @Test
  void shouldAnswerRawTypedAndPngTensorsAsRestDoesAndAsADirectOutput() throws Exception {
    MultiLayerNetwork net = Fixtures.net(1);
    List<Map<String, Double>> direct = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      direct.add(Fixtures.direct(net, Fixtures.image(i)));
    }
    holder.swap(Fixtures.loaded("fashion", 1, net));
    GRPCInferenceServiceBlockingStub stub = serve();

    ModelInferResponse raw = stub.modelInfer(raw(0, 4).build());
    assertThat(raw.getModelName()).isEqualTo("fashion");
    assertThat(raw.getModelVersion()).isEqualTo("1");
    assertThat(raw.getId()).isEqualTo("req-1");
    assertThat(raw.getRawOutputContentsCount()).as("a raw request is answered raw").isEqualTo(2);
    assertThat(raw.getOutputsList()).extracting(InferOutputTensor::getName).containsExactly("probabilities", "labels");
    assertThat(output(raw, "probabilities").getShapeList()).containsExactly(4L, 10L);
    assertThat(output(raw, "probabilities").getDatatype()).isEqualTo("FP32");
    assertThat(output(raw, "labels").getShapeList()).containsExactly(4L, 3L);
    assertThat(output(raw, "labels").getDatatype()).isEqualTo("BYTES");
    assertThat(raw.getParametersMap().get("prediction_ids").getStringParam().split(",")).hasSize(4).doesNotHaveDuplicates();
    float[] p = probabilities(raw);
    List<String> labels = labels(raw);
    for (int i = 0; i < 4; i++) {
      for (int c = 0; c < 10; c++) {
        assertThat((double) p[i * 10 + c]).isCloseTo(direct.get(i).get(FashionMnist.LABELS.get(c)), within(1e-5));
      }
      String best = direct.get(i).entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
      assertThat(labels.get(i * 3)).isEqualTo(best);
    }

    ModelInferResponse typed = stub.modelInfer(typed(0, 4).build());
    assertThat(typed.getRawOutputContentsCount()).as("a typed request is answered typed").isZero();
    assertClose(probabilities(typed), p);
    assertThat(labels(typed)).isEqualTo(labels);
    assertClose(probabilities(stub.modelInfer(pngs(0, 4).build())), p);
    assertClose(rest("/v2/models/fashion/infer", 0, 4), p);

    ModelInferRequest five = typed(0, 2).addOutputs(InferRequestedOutputTensor.newBuilder().setName("labels")
        .putParameters("classification", InferParameter.newBuilder().setInt64Param(5).build())).build();
    ModelInferResponse onlyLabels = stub.modelInfer(five);
    assertThat(onlyLabels.getOutputsList()).extracting(InferOutputTensor::getName).containsExactly("labels");
    assertThat(output(onlyLabels, "labels").getShapeList()).containsExactly(2L, 5L);
    assertThat(labels(onlyLabels)).hasSize(10).isSubsetOf(FashionMnist.LABELS);

    // each image is a prediction counted under protocol=grpc, and both its events were tried (failed: there is no broker)
    assertThat(registry.find(ServingMetrics.REQUESTS).tags("protocol", "grpc", "outcome", "ok").counter().count()).isEqualTo(14.0);
    assertThat(registry.find(ServingMetrics.REQUESTS).tags("protocol", "http", "outcome", "ok").counter().count()).isEqualTo(4.0);
    Fixtures.await(Duration.ofSeconds(30), "failed input events counted for 18 images",
        () -> registry.find(ServingMetrics.EVENTS_FAILED).tags("topic", "streamtune.inputs").counter() != null
            && registry.find(ServingMetrics.EVENTS_FAILED).tags("topic", "streamtune.inputs").counter().count() == 18.0);
  }

  @Test
  void shouldServeHealthMetadataAndPinnedVersionsAsRestDoes() throws Exception {
    MultiLayerNetwork netA = Fixtures.net(1);
    MultiLayerNetwork netB = Fixtures.net(2);
    holder.swap(Fixtures.loaded("fashion", 1, netA));
    holder.swap(Fixtures.loaded("fashion", 2, netB)); // serving v2, v1 kept
    GRPCInferenceServiceBlockingStub stub = serve();

    assertThat(stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
    assertThat(stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isTrue();
    assertThat(stub.serverMetadata(ServerMetadataRequest.getDefaultInstance()).getName()).isEqualTo("streamtune");
    assertThat(stub.modelReady(ModelReadyRequest.newBuilder().setName("fashion").build()).getReady()).isTrue();
    assertThat(stub.modelReady(ModelReadyRequest.newBuilder().setName("fashion").setVersion("1").build()).getReady()).isTrue();

    ModelMetadataResponse m = stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("fashion").setVersion("1").build());
    assertThat(m.getName()).isEqualTo("fashion");
    assertThat(m.getVersionsList()).containsExactly("1", "2");
    assertThat(m.getPlatform()).isEqualTo(OpenInference.PLATFORM);
    assertThat(m.getInputsList()).extracting(ModelMetadataResponse.TensorMetadata::getName).containsExactly("input", "image");
    assertThat(m.getInputs(0).getShapeList()).containsExactly(-1L, 1L, 28L, 28L);
    assertThat(m.getInputs(1).getDatatype()).isEqualTo("BYTES");
    assertThat(m.getOutputsList()).extracting(ModelMetadataResponse.TensorMetadata::getName)
        .containsExactly("probabilities", "labels");
    assertThat(m.getOutputs(0).getShapeList()).containsExactly(-1L, 10L);
    assertThat(m.getPropertiesMap()).containsEntry("version", "1").containsKey("sha256");
    assertThat(Json.MAPPER.readTree(m.getPropertiesMap().get("labels"))).extracting(JsonNode::asText)
        .containsExactlyElementsOf(FashionMnist.LABELS);

    // a pinned version answers, as on REST; the one serving answers without one
    for (String v : List.of("1", "2")) {
      ModelInferResponse r = stub.modelInfer(raw(0, 2).setModelVersion(v).build());
      assertThat(r.getModelVersion()).isEqualTo(v);
      assertClose(probabilities(r), rest("/v2/models/fashion/versions/" + v + "/infer", 0, 2));
    }
    assertThat(stub.modelInfer(raw(0, 2).build()).getModelVersion()).isEqualTo("2");
    float[] v1 = probabilities(stub.modelInfer(raw(0, 2).setModelVersion("1").build()));
    float[] v2 = probabilities(stub.modelInfer(raw(0, 2).setModelVersion("2").build()));
    assertThat(v1).isNotEqualTo(v2);

    StatusRuntimeException gone = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
        () -> stub.modelInfer(raw(0, 1).setModelVersion("7").build()));
    assertThat(gone.getStatus().getCode()).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(gone.getStatus().getDescription()).contains("version '7'", "loaded versions: [1, 2]");
    assertThat(code(() -> stub.modelInfer(raw(0, 1).setModelName("shoes").build()))).isEqualTo(Status.Code.NOT_FOUND);
    assertThat(code(() -> stub.modelReady(ModelReadyRequest.newBuilder().setName("shoes").build())))
        .isEqualTo(Status.Code.NOT_FOUND);
    assertThat(code(() -> stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("fashion").setVersion("x").build())))
        .isEqualTo(Status.Code.NOT_FOUND);
  }

  @Test
  void shouldRefuseEachMalformedRequestWithInvalidArgumentNamingTheProblemAndNoInference() {
    holder.swap(Fixtures.loaded("fashion", 1, Fixtures.net(1)));
    GRPCInferenceServiceBlockingStub stub = serve();
    record Case(ModelInferRequest request, String says) {}
    ByteString twoImages = littleEndian(pixels(0, 2));
    List<Case> cases = List.of(
        new Case(ModelInferRequest.newBuilder().setModelName("fashion").build(), "exactly one tensor"),
        new Case(raw(0, 1).setInputs(0, input("input", "FP32", 1, 3, 28, 28)).build(), "does not fit the model"),
        new Case(raw(0, 1).setInputs(0, input("input", "INT8", 1, 784)).build(), "datatype 'INT8' is not supported"),
        new Case(raw(0, 1).setInputs(0, input("input", "FP32", 2, 784)).build(),
            "raw_input_contents holds 3136 bytes but FP32 shape [2,784] needs 6272"),
        new Case(raw(0, 1).setRawInputContents(0, twoImages.substring(0, 3137)).build(), "needs 3136"),
        new Case(typed(0, 1).setInputs(0, input("input", "FP32", 2, 784).setContents(typed(0, 1).getInputs(0).getContents()))
            .build(), "holds 784 values but shape [2,784] needs 1568"),
        new Case(typed(0, 1).setInputs(0, input("input", "FP32", 1, 784).setContents(InferTensorContents.newBuilder()
            .addIntContents(1))).build(), "its contents hold other fields than fp32_contents"),
        new Case(typed(0, 1).addRawInputContents(twoImages).build(), "both contents and raw_input_contents"),
        new Case(raw(0, 1).setInputs(0, input("input", "FP32", 1, -784)).build(), "not a non-negative integer"),
        new Case(raw(0, 1).setInputs(0, input("input", "FP32", 1L << 40, 784)).build(), "more values than a request body"),
        new Case(raw(0, 1).setInputs(0, input("", "FP32", 1, 784)).build(), "without a \"name\""),
        new Case(raw(0, 1).setRawInputContents(0, littleEndian(bright())).build(), "[0,1]"),
        new Case(pngs(0, 1).setInputs(0, input("image", "BYTES", 1).setContents(InferTensorContents.newBuilder()
            .addBytesContents(ByteString.copyFromUtf8("hello")))).build(), "not a decodable image"),
        new Case(pngs(0, 1).setInputs(0, input("image", "BYTES", 2).setContents(pngs(0, 1).getInputs(0).getContents())).build(),
            "holds 1 values but shape [2] needs 2"),
        new Case(ModelInferRequest.newBuilder().setModelName("fashion").addInputs(input("image", "BYTES", 1))
            .addRawInputContents(ByteString.copyFrom(new byte[] {9, 0, 0, 0, 1})).build(), "4-byte little-endian length"),
        new Case(raw(0, 1).addOutputs(InferRequestedOutputTensor.newBuilder().setName("logits")).build(),
            "unknown output 'logits'"),
        new Case(raw(0, 1).addOutputs(InferRequestedOutputTensor.newBuilder().setName("labels")
            .putParameters("classification", InferParameter.newBuilder().setStringParam("five").build())).build(),
            "\"classification\" must be a positive integer"),
        new Case(raw(0, 1).setId("x".repeat(300)).build(), "longer than 256"));

    for (Case c : cases) {
      StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
          () -> stub.modelInfer(c.request()), c.says());
      assertThat(e.getStatus().getCode()).as(c.says()).isEqualTo(Status.Code.INVALID_ARGUMENT);
      assertThat(e.getStatus().getDescription()).as(c.says()).contains(c.says());
    }
    assertThat(registry.find(ServingMetrics.BATCH_SIZE).summary().count()).as("no inference ran").isZero();
    assertThat(registry.find(ServingMetrics.REQUESTS).tags("protocol", "grpc", "outcome", "rejected").counter().count())
        .isEqualTo(cases.size());
    assertThat(stub.modelInfer(raw(0, 1).build()).getModelVersion()).as("still serving").isEqualTo("1");
  }

  private static float[] bright() {
    float[] px = pixels(0, 1);
    px[5] = 255f;
    return px;
  }

  @Test
  void shouldAnswerUnavailableWhileNoModelIsLoadedAndRequireTheBearerTokenWhenOneIsSet() {
    state.set(ServiceState.STARTING);
    GRPCInferenceServiceBlockingStub anonymous = serve(true, "s3cret");
    assertThat(code(() -> anonymous.serverLive(ServerLiveRequest.getDefaultInstance()))).isEqualTo(Status.Code.UNAUTHENTICATED);
    Metadata wrong = new Metadata();
    wrong.put(GrpcEndpoint.AUTHORIZATION, "Bearer guess");
    assertThat(code(() -> anonymous.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(wrong))
        .modelInfer(raw(0, 1).build()))).isEqualTo(Status.Code.PERMISSION_DENIED);

    Metadata right = new Metadata();
    right.put(GrpcEndpoint.AUTHORIZATION, "Bearer s3cret");
    GRPCInferenceServiceBlockingStub stub = anonymous.withInterceptors(MetadataUtils.newAttachHeadersInterceptor(right));
    assertThat(stub.serverLive(ServerLiveRequest.getDefaultInstance()).getLive()).isTrue();
    assertThat(stub.serverReady(ServerReadyRequest.getDefaultInstance()).getReady()).isFalse();
    assertThat(stub.modelReady(ModelReadyRequest.newBuilder().setName("fashion").build()).getReady()).isFalse();
    StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
        () -> stub.modelInfer(raw(0, 1).build()));
    assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.UNAVAILABLE);
    assertThat(e.getStatus().getDescription()).contains("no version loaded yet");
    assertThat(code(() -> stub.modelMetadata(ModelMetadataRequest.newBuilder().setName("fashion").build())))
        .isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void shouldAnswerResourceExhaustedWhenTheImagesOfARequestDoNotFitTheQueue() throws Exception {
    holder.swap(Fixtures.loaded("fashion", 1, Fixtures.net(1)));
    GRPCInferenceServiceBlockingStub stub = serve(false, null); // the worker does not run: queued images stay queued
    float[] grey = new float[60 * 784];
    java.util.Arrays.fill(grey, 0.5f);
    ModelInferRequest sixty = ModelInferRequest.newBuilder().setModelName("fashion").addInputs(input("input", "FP32", 60, 784))
        .addRawInputContents(littleEndian(grey)).build();
    CompletableFuture<Status.Code> waiting = CompletableFuture.supplyAsync(() -> code(() -> stub.modelInfer(sixty)));
    Fixtures.await(Duration.ofSeconds(30), "60 images queued", () -> batcher.depth() == 60);

    StatusRuntimeException full = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
        () -> stub.modelInfer(raw(0, 5).build()));
    assertThat(full.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThat(full.getStatus().getDescription()).contains("queue full");
    assertThat(batcher.depth()).as("none of the refused request's images queued").isEqualTo(60);
    assertThat(registry.find(ServingMetrics.REJECTED).tags("reason", "queue-full").counter().count()).isEqualTo(1.0);

    batcher.close();
    assertThat(waiting.get(60, TimeUnit.SECONDS)).as("queued, then refused at shutdown").isEqualTo(Status.Code.UNAVAILABLE);
  }

  @Test
  void shouldServeTlsOnlyWithTheHttpKeyStore() throws Exception {
    holder.swap(Fixtures.loaded("fashion", 1, Fixtures.net(1)));
    serve();
    java.nio.file.Path store = dev.streamtune.core.testing.TestData.tempDir("grpc-tls").resolve("server.p12");
    char[] password = "a-test-password".toCharArray();
    Process keytool = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "keytool").toString(),
        "-genkeypair", "-alias", "serving", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=localhost", "-ext",
        "SAN=dns:localhost", "-validity", "1", "-storetype", "PKCS12", "-keystore", store.toString(), "-storepass",
        new String(password)).redirectErrorStream(true).start();
    assertThat(keytool.waitFor()).as(new String(keytool.getInputStream().readAllBytes(), StandardCharsets.UTF_8)).isZero();
    java.security.KeyStore trusted = java.security.KeyStore.getInstance("PKCS12");
    try (java.io.InputStream in = java.nio.file.Files.newInputStream(store)) {
      trusted.load(in, password);
    }
    javax.net.ssl.TrustManagerFactory trust = javax.net.ssl.TrustManagerFactory.getInstance(
        javax.net.ssl.TrustManagerFactory.getDefaultAlgorithm());
    trust.init(trusted);

    GrpcEndpoint tls = new GrpcEndpoint(new GrpcInferenceService(new OpenInference("fashion", holder, batcher, events, metrics, 3,
        BODY_MAX, state::get, Clock.systemUTC()), holder, metrics), "localhost", 0, 2, BODY_MAX, null,
        new dev.streamtune.core.http.HttpTls(store, password));
    tls.start();
    ManagedChannel secure = NettyChannelBuilder.forAddress("localhost", tls.port()).sslContext(
        io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts.forClient().trustManager(trust).build()).build();
    ManagedChannel plain = NettyChannelBuilder.forAddress("localhost", tls.port()).usePlaintext().build();
    try {
      ModelInferResponse r = GRPCInferenceServiceGrpc.newBlockingStub(secure).withDeadlineAfter(60, TimeUnit.SECONDS)
          .modelInfer(raw(0, 1).build());
      assertThat(r.getModelVersion()).isEqualTo("1");
      assertThat(code(() -> GRPCInferenceServiceGrpc.newBlockingStub(plain).withDeadlineAfter(10, TimeUnit.SECONDS)
          .serverLive(ServerLiveRequest.getDefaultInstance()))).as("plain text is not answered").isEqualTo(Status.Code.UNAVAILABLE);
    } finally {
      secure.shutdownNow();
      plain.shutdownNow();
      tls.close();
    }
  }

  @Test
  void shouldRefuseAMessageOverTheBodyLimit() {
    holder.swap(Fixtures.loaded("fashion", 1, Fixtures.net(1)));
    GRPCInferenceServiceBlockingStub stub = serve();
    ModelInferRequest big = raw(0, 1).addRawInputContents(ByteString.copyFrom(new byte[BODY_MAX])).build();
    assertThat(code(() -> stub.modelInfer(big))).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
    assertThatThrownBy(() -> new GrpcEndpoint(new GrpcInferenceService(new OpenInference("fashion", holder, batcher, events,
        metrics, 3, BODY_MAX, state::get, Clock.systemUTC()), holder, metrics), "localhost", grpc.port(), 1, BODY_MAX, null, null)
        .start()).hasMessageContaining("gRPC cannot listen on port " + grpc.port());
    assertThat(Collections.nCopies(1, stub.modelInfer(raw(0, 1).build()).getModelVersion())).containsExactly("1");
  }
}
