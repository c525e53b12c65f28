package dev.streamtune.standalone;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Normalization;
import dev.streamtune.core.model.ResNets;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestKafka;
import dev.streamtune.serving.ServingConfig;
import dev.streamtune.serving.ServingService;
import dev.streamtune.standalone.imports.ModelImporter;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import javax.imageio.ImageIO;
import org.deeplearning4j.common.resources.DL4JResources;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Users' own networks brought in with {@code streamtune models import} and served: Keras {@code .h5} files that the project
 * writes itself with h5py and numpy (src/test/keras), whose probabilities numpy computed independently of DL4J, answer over the
 * Open Inference Protocol with the same probabilities; a DL4J graph zip keeps its outputs; bad input gets one clear line.
 */
class ModelImportIT {
  private static final double TOLERANCE = 1e-4;
  private static final Topics TOPICS = Topics.withDefaultPrefix();
  private static EmbeddedKafkaBroker broker;
  private static Path fixtures;
  private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
      .connectTimeout(Duration.ofSeconds(10)).build();

  @BeforeAll
  static void makeFixturesAndStartBroker() throws Exception {
    fixtures = TestData.tempDir("keras-fixtures");
    Process p = new ProcessBuilder("python3", Path.of("src", "test", "keras", "make_keras_fixtures.py").toString(),
        fixtures.toString()).redirectErrorStream(true).start();
    String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as("make_keras_fixtures.py (needs python3-h5py and python3-numpy; bin/setup-debian installs "
        + "them): %s", log).isZero();
    broker = TestKafka.startWith(TOPICS);
  }

  @AfterAll
  static void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void shouldServeImportedKerasModelsWithTheProbabilitiesNumpyComputed() throws Exception {
    for (String name : List.of("seq_grey", "func_rgb", "seq_rgb_small")) {
      JsonNode fixture = Json.MAPPER.readTree(fixtures.resolve(name + ".json").toFile());
      int labels = fixture.get("labels").asInt();
      Path store = TestData.tempDir("import-" + name);
      Path labelFile = labels(labels);
      String model = name.replace('_', '-');
      assertThat(StreamTuneCli.execute("models", "import", "--store", store.toString(), "--model", model, "--from",
          fixtures.resolve(name + ".h5").toString(), "--labels", labelFile.toString())).as(name).isZero();

      Manifest m = new DirectoryModelStore(store).latest(model).orElseThrow();
      ModelSpec spec = m.spec();
      JsonNode hwc = fixture.get("input_shape");
      assertThat(spec.inputShape()).containsExactly(hwc.get(2).asInt(), hwc.get(0).asInt(), hwc.get(1).asInt());
      assertThat(spec.layout()).isEqualTo(ModelSpec.Layout.NHWC);
      assertThat(spec.network()).isEqualTo(name.startsWith("seq") ? ModelSpec.NetworkType.MULTI_LAYER
          : ModelSpec.NetworkType.GRAPH);
      assertThat(spec.embeddingLayer()).isEqualTo(fixture.get("penultimate").asText());
      assertThat(m.provenance().format()).isEqualTo("keras-h5");
      assertThat(m.provenance().sourceSha256()).isEqualTo(DirectoryModelStore.sha256(fixtures.resolve(name + ".h5")));

      try (ServingService serving = new ServingService(ServingConfig.from(Settings.of(Map.of("streamtune.bootstrap",
          broker.bootstrapServers(), "streamtune.store.dir", store.toString(), "streamtune.model", model,
          "streamtune.serving.port", "0", "streamtune.serving.grpc-port", "0"))))) {
        serving.start();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (serving.state() != ServiceState.RUNNING && System.nanoTime() < deadline) {
          Thread.sleep(50);
        }
        assertThat(serving.state()).as(name + " serving").isEqualTo(ServiceState.RUNNING);
        JsonNode meta = Json.MAPPER.readTree(get(serving, "/v2/models/" + model).body());
        assertThat(meta.get("inputs").get(0).get("shape").toString()).isEqualTo("[-1," + hwc.get(0) + "," + hwc.get(1) + ","
            + hwc.get(2) + "]");

        List<String> images = new ArrayList<>();
        for (JsonNode img : fixture.get("images")) {
          images.add(Base64.getEncoder().encodeToString(png(img)));
        }
        HttpResponse<String> r = post(serving, "/v2/models/" + model + "/infer", Json.toBytes(Map.of("inputs",
            List.of(Map.of("name", "image", "datatype", "BYTES", "shape", List.of(images.size()), "data", images)))));
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode out = null;
        for (JsonNode o : Json.MAPPER.readTree(r.body()).get("outputs")) {
          out = o.get("name").asText().equals("probabilities") ? o : out;
        }
        assertThat(out).isNotNull();
        JsonNode expected = fixture.get("probabilities");
        double worst = 0;
        for (int i = 0; i < expected.size(); i++) {
          for (int c = 0; c < labels; c++) {
            worst = Math.max(worst, Math.abs(out.get("data").get(i * labels + c).asDouble() - expected.get(i).get(c).asDouble()));
          }
        }
        assertThat(worst).as(name + ": served vs numpy, max abs difference").isLessThan(TOLERANCE);
      }
    }
  }

  @Test
  void shouldImportADl4jGraphZipWithItsOutputsAndBlockBoundaries() throws IOException {
    ComputationGraph g = ResNets.build(3, 16, new int[] {4, 8}, 8, 4, 1e-3, 3);
    File zip = TestData.tempDir("graph-zip").resolve("resnet.zip").toFile();
    g.save(zip);
    Path store = TestData.tempDir("import-zip");
    Manifest m = ModelImporter.run(new ModelImporter.Request(store, "mine", zip.toString(), labels(4), List.of(3, 16, 16),
        Normalization.IMAGENET, ModelSpec.Resize.CENTER_CROP, null, null, false, 1), line -> { });

    assertThat(m.spec().network()).isEqualTo(ModelSpec.NetworkType.GRAPH);
    assertThat(m.spec().layout()).isEqualTo(ModelSpec.Layout.NCHW);
    assertThat(m.spec().embeddingLayer()).isEqualTo("fc");
    assertThat(m.spec().boundaries()).isEqualTo(ResNets.boundaries(2));
    assertThat(m.spec().freezeBoundary()).isEqualTo("fc");
    assertThat(m.provenance().originalTop()).contains("'head'", "kept");
    LoadedModel loaded = new DirectoryModelStore(store).load("mine", m.version(), m.sha256());
    Nd4j.getRandom().setSeed(5);
    INDArray x = Nd4j.rand(DataType.FLOAT, 3, 3, 16, 16);
    assertThat(loaded.network().output(x)).isEqualTo(g.outputSingle(x));
  }

  @Test
  void shouldReplaceTheHeadWhenAsked() throws IOException {
    Path store = TestData.tempDir("import-replace");
    Manifest m = ModelImporter.run(new ModelImporter.Request(store, "three", fixtures.resolve("func_rgb.h5").toString(),
        labels(3), null, null, null, null, null, true, 1), line -> { });
    Network net = new DirectoryModelStore(store).load("three", m.version(), null).network();
    assertThat(net.outputName()).isEqualTo("head");
    assertThat(net.layerNames()).doesNotContain("predictions");
    assertThat(net.output(Nd4j.zeros(DataType.FLOAT, 2, 32, 32, 3)).shape()).containsExactly(2, 3);
    assertThat(m.provenance().originalTop()).contains("replaced by a new head 'head' (16 -> 3) over 'fc'");
  }

  @Test
  void shouldRefuseBadInputWithOneClearLine() throws IOException {
    Path store = TestData.tempDir("import-bad");
    String grey = fixtures.resolve("seq_grey.h5").toString();
    assertThatThrownBy(() -> ModelImporter.run(new ModelImporter.Request(store, "m", grey, labels(3), null, null, null, null,
        null, false, 1), line -> { })).hasMessageContaining("top 'predictions' has 10 outputs but the label file has 3 labels")
        .hasMessageContaining("--replace-head");
    assertThatThrownBy(() -> ModelImporter.run(new ModelImporter.Request(store, "m", grey, labels(10), null, null, null,
        "conv9", null, false, 1), line -> { })).hasMessageContaining("freeze boundary 'conv9' is not a layer")
        .hasMessageContaining("[conv1, pool1, fc, predictions]");
    assertThatThrownBy(() -> ModelImporter.run(new ModelImporter.Request(store, "../up", grey, labels(10), null, null, null,
        null, null, false, 1), line -> { })).hasMessageContaining("model name '../up'");
    String unsupported = fixtures.resolve("seq_unsupported.h5").toString();
    assertThatThrownBy(() -> ModelImporter.run(new ModelImporter.Request(store, "m", unsupported, labels(10), null, null, null,
        null, null, false, 1), line -> { })).hasMessageContaining("layer rescale of class Rescaling is not supported")
        .hasMessageNotContaining("\n");
    Path notAModel = Files.writeString(TestData.tempDir("import-bad-file").resolve("x.zip"), "hello");
    assertThatThrownBy(() -> ModelImporter.run(new ModelImporter.Request(store, "m", notAModel.toString(), labels(10), null,
        null, null, null, null, false, 1), line -> { })).hasMessageContaining("neither a DL4J zip");
    assertThat(new DirectoryModelStore(store).versions("m")).as("nothing stored").isEmpty();

    // the zoo offline: one line naming the URL and where a file downloaded elsewhere goes
    String base = DL4JResources.getBaseDownloadURL();
    File dir = DL4JResources.getBaseDirectory();
    DL4JResources.setBaseDownloadURL("http://127.0.0.1:9/");
    DL4JResources.setBaseDirectory(TestData.tempDir("dl4j-resources").toFile());
    PrintStream oldErr = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      assertThat(StreamTuneCli.execute("models", "import", "--store", store.toString(), "--model", "sq", "--from",
          "zoo:squeezenet", "--labels", labels(10).toString())).isNotZero();
    } finally {
      System.setErr(oldErr);
      DL4JResources.setBaseDownloadURL(base);
      DL4JResources.setBaseDirectory(dir);
    }
    assertThat(err.toString(StandardCharsets.UTF_8)).contains("cannot get the ImageNet weights of zoo:squeezenet from "
        + "http://127.0.0.1:9/").contains("--from FILE.zip").doesNotContain("\tat ");
  }

  private static Path labels(int n) throws IOException {
    Path f = TestData.tempDir("labels").resolve("labels-" + n + ".txt");
    Files.write(f, IntStream.range(0, n).mapToObj(i -> "class-" + i).toList());
    return f;
  }

  /** A probe image ([H][W][C] of 0..255) as a lossless PNG: grey for one channel, RGB for three. */
  private static byte[] png(JsonNode img) throws IOException {
    int h = img.size();
    int w = img.get(0).size();
    int c = img.get(0).get(0).size();
    BufferedImage b = new BufferedImage(w, h, c == 1 ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        JsonNode px = img.get(y).get(x);
        if (c == 1) {
          b.getRaster().setSample(x, y, 0, px.get(0).asInt());
        } else {
          b.setRGB(x, y, (px.get(0).asInt() << 16) | (px.get(1).asInt() << 8) | px.get(2).asInt());
        }
      }
    }
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ImageIO.write(b, "png", out);
    return out.toByteArray();
  }

  private HttpResponse<String> get(ServingService s, String path) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + s.port() + path)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
  }

  private HttpResponse<String> post(ServingService s, String path, byte[] body) throws Exception {
    return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + s.port() + path)).header("Content-Type",
        "application/json").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build(), HttpResponse.BodyHandlers.ofString());
  }
}
