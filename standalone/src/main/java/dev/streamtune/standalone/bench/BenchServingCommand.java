package dev.streamtune.standalone.bench;

import dev.streamtune.core.ServiceState;
import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.ColourRendering;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.serving.ServingConfig;
import dev.streamtune.serving.ServingService;
import dev.streamtune.serving.ServingStats;
import dev.streamtune.standalone.DataOption;
import dev.streamtune.trainer.FineTuner;
import dev.streamtune.trainer.FreezePlan;
import dev.streamtune.trainer.Pretrainer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Serving against raw DL4J, side by side in one run on the same model and the same Fashion-MNIST test images:
 *
 * <ol>
 *   <li>raw batched {@code output()} on prepared batches of each {@code --batch-sizes} (the baseline; no decoding, no copies),
 *       measured before and again after the serving phases, the better of the two counting;
 *   <li>a real {@link ServingService} (embedded broker, real model store, real promotions) driven by closed-loop clients at each
 *       {@code --concurrency}, one image per request: over loopback HTTP ({@code /predict} with a PNG, or the V2 {@code infer}
 *       with an FP32 tensor) and in-process through the same micro-batcher ({@link ServingService#infer}, no HTTP, no events);
 *       throughput, p50/p99 latency in steady state and the mean batch the worker formed;
 *   <li>the same clients while a promotion to another stored version is published every {@code --swap-every}: with one
 *       previous version kept and three versions cycling, every swap is a load from disk (read, checksum, warm-up); p99 during
 *       swaps against steady p99 at the same concurrency;
 *   <li>with {@code --rounds N}, raw and each path's steady phase in turn, N times: the ratio of each serving phase to the raw
 *       runs just before and after it, whose median is robust to the load on shared cores drifting during the run.
 * </ol>
 *
 * <p>Prints {@code nproc} and the load average at start and end: the cores are shared with whatever else runs.
 */
@Command(name = "serving", mixinStandardHelpOptions = true,
    description = "Serving throughput and latency against raw DL4J output() on the same model and inputs.")
public final class BenchServingCommand implements Callable<Integer> {
  private static final String MODEL = "fashion";
  /** Stored copies of the model the swaps cycle through; with one previous version kept, each promotion is a load from disk. */
  private static final int VERSIONS = 3;
  private static final Topics TOPICS = Topics.withDefaultPrefix();

  @Mixin
  DataOption data;

  @Option(names = "--store", paramLabel = "DIR", description = "a model store whose base version is benchmarked; when absent, a "
      + "model is pretrained on --pretrain-images clean images (1 epoch)")
  Path store;

  @Option(names = "--backbone", paramLabel = "ARCH", defaultValue = "cnn",
      description = "cnn (grey 28x28 MultiLayerNetwork) or resnet (RGB 32x32 ComputationGraph, sent the colour rendering of the "
          + "test images) (default ${DEFAULT-VALUE})")
  String backbone;

  @Option(names = "--model", description = "model name in --store (default fashion for cnn, fashion-rgb for resnet)")
  String model;

  @Option(names = "--pretrain-images", defaultValue = "2000", description = "images to pretrain on without --store "
      + "(default ${DEFAULT-VALUE})")
  int pretrainImages;

  @Option(names = "--images", defaultValue = "1000", description = "test images sent, in turn (default ${DEFAULT-VALUE})")
  int images;

  @Option(names = "--batch-sizes", split = ",", defaultValue = "1,8,32,64,128",
      description = "raw output() batch sizes (default ${DEFAULT-VALUE})")
  List<Integer> batchSizes;

  @Option(names = "--concurrency", split = ",", defaultValue = "1,8,32",
      description = "client concurrencies, one image per request (default ${DEFAULT-VALUE})")
  List<Integer> concurrency;

  @Option(names = "--paths", split = ",", defaultValue = "http,in-process",
      description = "serving paths to drive: http (--endpoint), http-binary (Open Inference Protocol, FP32 as binary tensor "
          + "data), grpc (ModelInfer, FP32 in raw_input_contents), in-process (default ${DEFAULT-VALUE})")
  List<String> paths;

  @Option(names = "--images-per-request", defaultValue = "1", paramLabel = "N",
      description = "images in each request of the http-binary and grpc paths (default ${DEFAULT-VALUE})")
  int imagesPerRequest;

  @Option(names = "--endpoint", defaultValue = "predict",
      description = "HTTP endpoint: predict (PNG body) or v2 (Open Inference Protocol, FP32 [1,784]) (default ${DEFAULT-VALUE})")
  String endpoint;

  @Option(names = "--duration", defaultValue = "8", paramLabel = "SECONDS",
      description = "measured seconds of each raw batch size and each serving phase (default ${DEFAULT-VALUE})")
  double duration;

  @Option(names = "--warmup", defaultValue = "2", paramLabel = "SECONDS",
      description = "unmeasured seconds before each raw batch size and each steady serving phase (default ${DEFAULT-VALUE})")
  double warmup;

  @Option(names = "--settle", defaultValue = "30", paramLabel = "SECONDS",
      description = "unmeasured seconds of each path at its highest concurrency before the measured phases, so that the JIT "
          + "compilers are done: a serving node runs for hours (default ${DEFAULT-VALUE})")
  double settle;

  @Option(names = "--swap-every", defaultValue = "200", paramLabel = "MS",
      description = "milliseconds between promotions in the swap phases; 0 skips them (default ${DEFAULT-VALUE})")
  long swapEveryMs;

  @Option(names = "--rounds", defaultValue = "0", paramLabel = "N",
      description = "after the phases, N rounds per path of raw output() at its best batch and threads, then the path's steady "
          + "phase at the highest concurrency, ending with raw once more; each round's ratio is against the mean of the raw runs "
          + "either side of it, and the median is the settled figure (the shared cores' load drifts within a run) "
          + "(default ${DEFAULT-VALUE})")
  int rounds;

  @Option(names = {"-s", "--set"}, paramLabel = "KEY=VALUE",
      description = "a serving setting, e.g. -s streamtune.serving.batch.wait=1ms")
  Map<String, String> set = new LinkedHashMap<>();

  /** One measured phase of serving. */
  private record Phase(String path, int clients, String phase, long requests, int perRequest, long errors, double seconds,
      long[] latencies, ServingStats stats, int promotions, String firstError, Map<String, Double> cpu) {
    /** Images a second. */
    double throughput() {
      return requests * perRequest / seconds;
    }

    double percentileMs(double p) {
      return BenchServingCommand.percentile(latencies, p) / 1e6;
    }
  }

  @Override
  public Integer call() throws Exception {
    validate();
    System.out.printf(Locale.ROOT, "nproc %d, load average at start %s; %s; Java %s%n", Runtime.getRuntime().availableProcessors(),
        load(), Networks.device(), System.getProperty("java.version"));
    FashionMnist.Split test = FashionMnist.test(data.dir);
    if (images > test.images().length) {
      throw new IllegalArgumentException("--images must be at most " + test.images().length + ", was " + images);
    }
    Path dir = Files.createTempDirectory("streamtune-bench-serving");
    try {
      DirectoryModelStore bench = new DirectoryModelStore(dir.resolve("store"));
      List<Manifest> versions = prepareStore(bench, dir);
      ModelSpec spec = versions.get(0).spec();
      Preprocessor pre = Preprocessor.of(spec);
      // the test images as a client sends them (grey 28x28, or their colour rendering for an RGB model) and as the network
      // takes them after decoding
      List<byte[]> encoded = new ArrayList<>(images);
      List<float[]> pixels = new ArrayList<>(images);
      for (int i = 0; i < images; i++) {
        float[] grey = test.images()[i];
        byte[] png = spec.channels() == 3 ? Images.toPng(ColourRendering.render(grey, i), 3, ColourRendering.SIDE,
            ColourRendering.SIDE) : Images.toPng(grey, FashionMnist.SIDE, FashionMnist.SIDE);
        encoded.add(png);
        pixels.add(pre.decode(png));
      }
      System.out.printf(Locale.ROOT, "model: %s %s, %d labels, input %s %s, %d stored copies in %s; %d test images%n",
          spec.network().id(), arch().id(), spec.labels().size(), spec.inputShape(), spec.layout(), VERSIONS, bench.root(),
          images);

      // the baseline runs before serving starts, on its own copy of the same model; with several inference workers, also on as
      // many threads each with its own copy (what the workers do without batching, transport or events)
      LoadedModel raw = bench.load(MODEL, 1, versions.get(0).sha256());
      int workers = ServingConfig.workers(Settings.of(set));
      List<Network> rawNets = new ArrayList<>(List.of(raw.network()));
      for (int i = 1; i < workers; i++) {
        rawNets.add(raw.network().copy());
      }
      List<Integer> rawThreads = workers > 1 ? List.of(1, workers) : List.of(1);
      // measured before and again after the serving phases: the cores are shared, and the better of the two is the baseline
      List<double[]> rawRows = new ArrayList<>();
      for (int b : batchSizes) {
        for (int t : rawThreads) {
          System.out.printf(Locale.ROOT, "raw output(), batch %d, %d thread(s) ...%n", b, t);
          double[] before = rawThroughput(rawNets.subList(0, t), pre, pixels, b);
          rawRows.add(new double[] {b, before[0], 0, before[1], 0, t});
        }
      }

      List<Phase> phases = new ArrayList<>();
      Rounds roundResults = null;
      try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(0).dataDir(null).build().start()) {
        KafkaSupport.ensureTopics(broker.bootstrapServers(), TOPICS, 1, (short) 1, Duration.ofSeconds(30));
        Map<String, String> s = new LinkedHashMap<>();
        s.put("streamtune.bootstrap", broker.bootstrapServers());
        s.put("streamtune.store.dir", bench.root().toString());
        s.put("streamtune.model", MODEL);
        s.put("streamtune.serving.host", "127.0.0.1");
        s.put("streamtune.serving.port", "0");
        s.put(ServingConfig.GRPC_PORT, "0");
        s.put(ServingConfig.VERSIONS_KEEP, "1");
        s.putAll(set);
        ServingConfig config = ServingConfig.from(Settings.of(s));
        try (ServingService serving = new ServingService(config);
            KafkaProducer<String, Promotion> promoter = KafkaSupport.producer(broker.bootstrapServers(), "bench-promoter",
                TOPICS.promotions)) {
          serving.start();
          await(Duration.ofSeconds(60), "serving ready", () -> serving.state() == ServiceState.RUNNING);
          System.out.printf(Locale.ROOT, "serving on 127.0.0.1:%d: batch max %d, wait %d us, %d inference worker(s), %d HTTP "
              + "threads, keeping %d previous version; endpoint %s%n", serving.port(), config.batchMax(),
              config.batchWait().toNanos() / 1000, config.workers(), config.httpThreads(), config.versionsKeep(), endpoint);
          Swapper swapper = new Swapper(promoter, bench, versions, serving);
          Map<String, Client> clients = new LinkedHashMap<>();
          for (String path : paths) {
            clients.put(path, switch (path) {
              case "http" -> new HttpClientFactory(serving.port(), httpRequests(serving.port(), encoded, pixels), 1);
              case "http-binary" -> new HttpClientFactory(serving.port(), binaryRequests(serving.port(), pixels), imagesPerRequest);
              case "grpc" -> new GrpcClientFactory(serving.grpcPort(), grpcRequests(pixels), imagesPerRequest);
              default -> new InProcessFactory(serving, pixels);
            });
          }
          for (String path : paths) {
            Client client = clients.get(path);
            if (settle > 0) {
              int top = concurrency.stream().max(Integer::compare).orElseThrow();
              System.out.printf(Locale.ROOT, "%s, %d clients: settling for %.0f s (JIT) ...%n", path, top, settle);
              run(path, top, "settle", client, serving, null, 0, settle); // unmeasured: the result is dropped
            }
            for (int c : concurrency) {
              System.out.printf(Locale.ROOT, "%s, %d clients: steady ...%n", path, c);
              phases.add(run(path, c, "steady", client, serving, null, warmup, duration));
              if (swapEveryMs > 0) {
                System.out.printf(Locale.ROOT, "%s, %d clients: a promotion every %d ms ...%n", path, c, swapEveryMs);
                phases.add(run(path, c, "swaps", client, serving, swapper, warmup, duration));
              }
            }
          }
          if (rounds > 0) {
            roundResults = rounds(rawRows, rawNets, pre, pixels, clients, serving);
          }
        }
      }
      for (double[] r : rawRows) {
        System.out.printf(Locale.ROOT, "raw output(), batch %d, %d thread(s), again ...%n", (int) r[0], (int) r[5]);
        double[] after = rawThroughput(rawNets.subList(0, (int) r[5]), pre, pixels, (int) r[0]);
        r[2] = after[0];
        r[4] = after[1];
      }
      report(rawRows, phases, workers);
      reportRounds(roundResults);
    } finally {
      deleteTree(dir);
    }
    System.out.printf(Locale.ROOT, "load average at end %s (1-, 5-, 15-minute, on %d cores)%n", load(),
        Runtime.getRuntime().availableProcessors());
    return 0;
  }

  private void validate() {
    if (rounds < 0 || rounds > 50) {
      throw new IllegalArgumentException("--rounds must be between 0 and 50, was " + rounds);
    }
    if (images < 1 || pretrainImages < 1 || duration <= 0 || warmup < 0 || settle < 0 || swapEveryMs < 0 || imagesPerRequest < 1
        || imagesPerRequest > images) {
      throw new IllegalArgumentException("--images and --pretrain-images must be >= 1, --duration > 0, --warmup, --settle and "
          + "--swap-every >= 0, --images-per-request from 1 to --images");
    }
    if (batchSizes.isEmpty() || batchSizes.stream().anyMatch(b -> b < 1 || b > 4096)) {
      throw new IllegalArgumentException("--batch-sizes must be between 1 and 4096, were " + batchSizes);
    }
    if (concurrency.isEmpty() || concurrency.stream().anyMatch(c -> c < 1 || c > 512)) {
      throw new IllegalArgumentException("--concurrency must be between 1 and 512, were " + concurrency);
    }
    for (String p : paths) {
      if (!List.of("http", "http-binary", "grpc", "in-process").contains(p)) {
        throw new IllegalArgumentException("--paths takes http, http-binary, grpc and in-process, was '" + p + "'");
      }
    }
    if (!endpoint.equals("predict") && !endpoint.equals("v2")) {
      throw new IllegalArgumentException("--endpoint must be predict or v2, was '" + endpoint + "'");
    }
  }

  /** Stores the benchmarked model {@value #VERSIONS} times in the bench's own store (the one of --store is only read). */
  private Pretrainer.Arch arch() {
    return Pretrainer.Arch.parse(backbone);
  }

  private List<Manifest> prepareStore(DirectoryModelStore bench, Path dir) {
    org.deeplearning4j.nn.api.Model net;
    ModelSpec spec;
    String name = model != null ? model : arch().defaultModel();
    if (store != null || arch() == Pretrainer.Arch.RESNET) {
      DirectoryModelStore from = new DirectoryModelStore(store != null ? store : dir.resolve("pretrained"));
      if (store == null) {
        System.out.printf(Locale.ROOT, "pretraining a resnet on %d colour images (1 epoch) ...%n", pretrainImages);
        Pretrainer.pretrain(from, name, FashionMnist.train(data.dir), new Pretrainer.Options(pretrainImages, 1, 64, 2e-3, 42, Pretrainer.Arch.RESNET),
            System.out::println);
      }
      Manifest base = from.base(name).orElseThrow(() -> new IllegalArgumentException("no version of model '" + name + "' in "
          + from.root() + " (--store, --model)"));
      LoadedModel m = from.load(name, base.version(), base.sha256());
      System.out.printf(Locale.ROOT, "model: %s v%d from %s%n", name, m.version(), from.root());
      net = m.network().model();
      spec = m.spec();
    } else {
      System.out.printf(Locale.ROOT, "pretraining a model on %d clean images (1 epoch) ...%n", pretrainImages);
      FashionMnist.Split train = FashionMnist.train(data.dir);
      int n = Math.min(pretrainImages, train.images().length);
      List<float[]> px = new ArrayList<>(Arrays.asList(train.images()).subList(0, n));
      int[] y = Arrays.copyOf(train.labels(), n);
      net = FineTuner.fineTune(Networks.cnn(FashionMnist.SIDE, FashionMnist.LABELS.size(), 1e-3, 42), FreezePlan.NOTHING, 1e-3, 1, 64, px, y,
          FashionMnist.SIDE, 42).network();
      spec = Networks.spec(FashionMnist.SIDE, FashionMnist.LABELS, Networks.DEFAULT_FREEZE_BOUNDARY);
    }
    List<Manifest> out = new ArrayList<>();
    for (int v = 1; v <= VERSIONS; v++) {
      out.add(bench.save(MODEL, net, spec, v == 1 ? null : v - 1, null, Map.of()));
    }
    return out;
  }

  /**
   * Images per second of back-to-back {@code output()} calls on prepared batches of {@code b}, after a warm-up, each network on
   * a thread of its own like serving's inference workers (measured here, the thread that first used ND4J, main, which loaded
   * the model, ran the same calls about half as fast as a fresh thread, which would flatter serving), and the CPU seconds of
   * the whole process per image meanwhile (nothing else runs during raw phases).
   */
  private double[] rawThroughput(List<Network> nets, Preprocessor pre, List<float[]> pixels, int b) throws InterruptedException {
    int count = Math.max(1, pixels.size() / b);
    // every thread warms up until t0 and counts the calls it finishes before t1
    long t0 = System.nanoTime() + nanos(warmup) + TimeUnit.MILLISECONDS.toNanos(500);
    long t1 = t0 + nanos(duration);
    long[] done = new long[nets.size()];
    RuntimeException[] failure = new RuntimeException[1];
    List<Thread> threads = new ArrayList<>();
    for (int n = 0; n < nets.size(); n++) {
      Network net = nets.get(n);
      int index = n;
      Thread t = new Thread(() -> {
        try {
          List<INDArray> batches = new ArrayList<>(count);
          for (int i = 0; i < count; i++) {
            List<float[]> chunk = new ArrayList<>(b);
            for (int j = 0; j < b; j++) {
              chunk.add(pixels.get((i * b + j + index * 7) % pixels.size()));
            }
            batches.add(pre.batch(chunk));
          }
          int i = 0;
          while (System.nanoTime() < t0) {
            net.output(batches.get(i++ % count));
          }
          while (true) {
            net.output(batches.get(i++ % count));
            if (System.nanoTime() >= t1) {
              break;
            }
            done[index] += b;
          }
        } catch (RuntimeException e) {
          failure[0] = e;
        }
      }, "raw-output-" + b + "-" + n);
      threads.add(t);
      t.start();
    }
    // nothing else runs during raw phases: the process's CPU time is raw's (per-thread listings misread some raw rows)
    sleepUntil(t0);
    long cpu0 = processCpuNanos();
    sleepUntil(t1);
    long cpu1 = processCpuNanos();
    for (Thread t : threads) {
      t.join();
    }
    if (failure[0] != null) {
      throw failure[0];
    }
    long images = java.util.Arrays.stream(done).sum();
    return new double[] {images / ((t1 - t0) / 1e9), (cpu1 - cpu0) / 1e9 / Math.max(1, images)};
  }

  private static long processCpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean())
        .getProcessCpuTime();
  }

  private static void sleepUntil(long nanoTime) throws InterruptedException {
    long left;
    while ((left = nanoTime - System.nanoTime()) > 0) {
      TimeUnit.NANOSECONDS.sleep(left);
    }
  }

  /** The prepared request of each image for the chosen endpoint. */
  private List<byte[]> httpRequests(int port, List<byte[]> encoded, List<float[]> pixels) {
    List<byte[]> out = new ArrayList<>(pixels.size());
    for (int i = 0; i < pixels.size(); i++) {
      float[] px = pixels.get(i);
      if (endpoint.equals("predict")) {
        out.add(LoopbackHttpClient.post("127.0.0.1", port, "/predict?topk=1", "image/png", encoded.get(i)));
      } else {
        Map<String, Object> input = new LinkedHashMap<>();
        input.put("name", "input");
        input.put("datatype", "FP32");
        input.put("shape", List.of(1, px.length));
        input.put("data", px);
        Map<String, Object> request = Map.of("inputs", List.of(input),
            "outputs", List.of(Map.of("name", "labels", "parameters", Map.of("classification", 1))));
        out.add(LoopbackHttpClient.post("127.0.0.1", port, "/v2/models/" + MODEL + "/infer", "application/json",
            Json.toBytes(request)));
      }
    }
    return out;
  }

  /** The images in groups of {@code --images-per-request}, in turn. */
  private List<List<float[]>> groups(List<float[]> pixels) {
    List<List<float[]>> out = new ArrayList<>();
    for (int i = 0; i + imagesPerRequest <= pixels.size(); i += imagesPerRequest) {
      out.add(pixels.subList(i, i + imagesPerRequest));
    }
    return out;
  }

  /** The images as little-endian FP32, as the binary tensor data extension and gRPC's raw contents carry them. */
  private static byte[] littleEndian(List<float[]> images) {
    java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * images.size() * images.get(0).length)
        .order(java.nio.ByteOrder.LITTLE_ENDIAN);
    for (float[] px : images) {
      for (float v : px) {
        b.putFloat(v);
      }
    }
    return b.array();
  }

  /** Open Inference Protocol requests with the FP32 tensor as binary data after the JSON; the top label answered in JSON. */
  private List<byte[]> binaryRequests(int port, List<float[]> pixels) {
    List<byte[]> out = new ArrayList<>();
    for (List<float[]> g : groups(pixels)) {
      byte[] data = littleEndian(g);
      Map<String, Object> input = new LinkedHashMap<>();
      input.put("name", "input");
      input.put("datatype", "FP32");
      input.put("shape", List.of(g.size(), g.get(0).length));
      input.put("parameters", Map.of("binary_data_size", data.length));
      byte[] json = Json.toBytes(Map.of("inputs", List.of(input),
          "outputs", List.of(Map.of("name", "labels", "parameters", Map.of("classification", 1)))));
      byte[] body = Arrays.copyOf(json, json.length + data.length);
      System.arraycopy(data, 0, body, json.length, data.length);
      out.add(LoopbackHttpClient.post("127.0.0.1", port, "/v2/models/" + MODEL + "/infer", "application/octet-stream",
          "Inference-Header-Content-Length: " + json.length + "\r\n", body));
    }
    return out;
  }

  /** gRPC ModelInfer requests with the FP32 tensor in raw_input_contents; the top label asked. */
  private List<inference.OpenInferenceGrpc.ModelInferRequest> grpcRequests(List<float[]> pixels) {
    List<inference.OpenInferenceGrpc.ModelInferRequest> out = new ArrayList<>();
    for (List<float[]> g : groups(pixels)) {
      out.add(inference.OpenInferenceGrpc.ModelInferRequest.newBuilder().setModelName(MODEL)
          .addInputs(inference.OpenInferenceGrpc.ModelInferRequest.InferInputTensor.newBuilder().setName("input")
              .setDatatype("FP32").addShape(g.size()).addShape(g.get(0).length))
          .addOutputs(inference.OpenInferenceGrpc.ModelInferRequest.InferRequestedOutputTensor.newBuilder().setName("labels")
              .putParameters("classification", inference.OpenInferenceGrpc.InferParameter.newBuilder().setInt64Param(1).build()))
          .addRawInputContents(com.google.protobuf.ByteString.copyFrom(littleEndian(g))).build());
    }
    return out;
  }

  /** Makes one closed-loop client: something that answers image {@code i} once per call. */
  private interface Client {
    Caller open(int client) throws IOException;

    /** Images in each request. */
    default int perRequest() {
      return 1;
    }
  }

  /** One client's connection; {@link #call} returns null on success, else what went wrong. */
  private interface Caller extends AutoCloseable {
    String call(int image) throws Exception;

    @Override
    void close();
  }

  /** One gRPC channel per client, as separate callers would have; a blocking stub, one request in flight. */
  private record GrpcClientFactory(int port, List<inference.OpenInferenceGrpc.ModelInferRequest> requests, int perRequest)
      implements Client {
    @Override
    public Caller open(int client) {
      io.grpc.ManagedChannel channel = io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder.forAddress("127.0.0.1", port)
          .usePlaintext().build();
      inference.GRPCInferenceServiceGrpc.GRPCInferenceServiceBlockingStub stub =
          inference.GRPCInferenceServiceGrpc.newBlockingStub(channel);
      return new Caller() {
        @Override
        public String call(int image) {
          try {
            stub.withDeadlineAfter(60, TimeUnit.SECONDS).modelInfer(requests.get(image % requests.size()));
            return null;
          } catch (io.grpc.StatusRuntimeException e) {
            return e.getStatus().toString();
          }
        }

        @Override
        public void close() {
          channel.shutdownNow();
        }
      };
    }
  }

  private record HttpClientFactory(int port, List<byte[]> requests, int perRequest) implements Client {
    @Override
    public Caller open(int client) {
      LoopbackHttpClient http = new LoopbackHttpClient("127.0.0.1", port);
      return new Caller() {
        @Override
        public String call(int image) throws IOException {
          LoopbackHttpClient.Response r = http.send(requests.get(image % requests.size()));
          return r.status() == 200 ? null : r.status() + " " + r.body();
        }

        @Override
        public void close() {
          http.close();
        }
      };
    }
  }

  private record InProcessFactory(ServingService serving, List<float[]> pixels) implements Client {
    @Override
    public Caller open(int client) {
      return new Caller() {
        @Override
        public String call(int image) throws Exception {
          serving.infer(pixels.get(image % pixels.size()), 1).get(60, TimeUnit.SECONDS);
          return null;
        }

        @Override
        public void close() {}
      };
    }
  }

  /** Publishes a promotion to the next stored version every {@code --swap-every} while a phase runs. */
  private final class Swapper {
    private final KafkaProducer<String, Promotion> producer;
    private final DirectoryModelStore bench;
    private final List<Manifest> versions;
    private final ServingService serving;

    Swapper(KafkaProducer<String, Promotion> producer, DirectoryModelStore bench, List<Manifest> versions, ServingService serving) {
      this.producer = producer;
      this.bench = bench;
      this.versions = versions;
      this.serving = serving;
    }

    /** Promotes in turn until {@code stop}; returns how many promotions were published and leaves the last one serving. */
    int run(AtomicBoolean stop) throws Exception {
      int serving0 = serving.servingVersion().orElse(1);
      int next = serving0;
      int sent = 0;
      long period = TimeUnit.MILLISECONDS.toNanos(swapEveryMs);
      long at = System.nanoTime();
      while (!stop.get()) {
        next = next % VERSIONS + 1;
        Manifest m = versions.get(next - 1);
        Promotion p = new Promotion(Versioned.CURRENT, MODEL, next, bench.uri(MODEL, next), m.sha256(),
            "bench: swap " + (sent + 1), Instant.now());
        producer.send(new ProducerRecord<>(TOPICS.promotions.name(), MODEL, p)).get(30, TimeUnit.SECONDS);
        sent++;
        at += period;
        long wait = at - System.nanoTime();
        if (wait > 0) {
          TimeUnit.NANOSECONDS.sleep(wait);
        }
      }
      int last = next;
      // the next phase starts only once the last promotion serves and no load is left running
      await(Duration.ofSeconds(60), "v" + last + " serving after the swaps", () -> serving.servingVersion().orElse(-1) == last);
      return sent;
    }
  }

  /** One phase: {@code clients} closed-loop clients; a steady phase warms up first, a swap phase runs the swapper meanwhile. */
  private Phase run(String path, int clients, String phase, Client factory, ServingService serving, Swapper swapper,
      double warmup, double duration) throws Exception {
    AtomicBoolean stop = new AtomicBoolean();
    AtomicBoolean recording = new AtomicBoolean(swapper != null);
    AtomicReference<String> firstError = new AtomicReference<>();
    long[][] lat = new long[clients][];
    int[] counts = new int[clients];
    long[] errors = new long[clients];
    CountDownLatch done = new CountDownLatch(clients);
    List<Thread> threads = new ArrayList<>();
    for (int c = 0; c < clients; c++) {
      int client = c;
      lat[c] = new long[1024];
      Thread t = new Thread(() -> {
        try (Caller caller = factory.open(client)) {
          for (int i = client * 7919; !stop.get(); i++) {
            boolean rec = recording.get();
            long t0 = System.nanoTime();
            String error;
            try {
              error = caller.call(i);
            } catch (Exception e) {
              error = e.toString();
            }
            long took = System.nanoTime() - t0;
            if (!rec || !recording.get()) {
              continue;
            }
            if (error != null) {
              errors[client]++;
              firstError.compareAndSet(null, error);
              continue;
            }
            if (counts[client] == lat[client].length) {
              lat[client] = Arrays.copyOf(lat[client], lat[client].length * 2);
            }
            lat[client][counts[client]++] = took;
          }
        } catch (Exception e) {
          firstError.compareAndSet(null, e.toString());
        } finally {
          done.countDown();
        }
      }, "bench-client-" + c);
      t.setDaemon(true);
      threads.add(t);
    }
    threads.forEach(Thread::start);
    if (swapper == null) {
      Thread.sleep(Math.round(warmup * 1000));
    }
    ServingStats before = serving.stats();
    ThreadCpu cpuBefore = ThreadCpu.snapshot();
    recording.set(true);
    long t0 = System.nanoTime();
    int promotions = 0;
    if (swapper != null) {
      AtomicBoolean swapStop = new AtomicBoolean();
      Thread timer = new Thread(() -> {
        sleepQuietly(nanos(duration));
        swapStop.set(true);
      });
      timer.setDaemon(true);
      timer.start();
      promotions = swapper.run(swapStop);
    } else {
      sleepQuietly(nanos(duration));
    }
    recording.set(false);
    double seconds = (System.nanoTime() - t0) / 1e9;
    Map<String, Double> cpu = ThreadCpu.snapshot().since(cpuBefore);
    ServingStats stats = serving.stats().minus(before);
    stop.set(true);
    if (!done.await(60, TimeUnit.SECONDS)) {
      throw new IllegalStateException("clients did not stop within 60 s");
    }
    int total = Arrays.stream(counts).sum();
    long[] all = new long[total];
    int at = 0;
    for (int c = 0; c < clients; c++) {
      System.arraycopy(lat[c], 0, all, at, counts[c]);
      at += counts[c];
    }
    Arrays.sort(all);
    return new Phase(path, clients, phase, total, factory.perRequest(), Arrays.stream(errors).sum(), seconds, all, stats,
        promotions, firstError.get(), cpu);
  }

  /** One {@code --rounds} round: raw images/s before, the serving phase, raw after. */
  private record Round(double rawBefore, Phase serving, double rawAfter) {
    double ratio() {
      return serving.throughput() / ((rawBefore + rawAfter) / 2);
    }
  }

  /** The rounds of each path and the raw configuration they were measured against. */
  private record Rounds(int batch, int threads, int clients, Map<String, List<Round>> byPath) {}

  /**
   * {@code --rounds}: per path, raw output() at the best raw configuration measured before serving, then the path's steady
   * phase at the highest concurrency, {@code rounds} times, and raw once more (each raw run is shared by the rounds either side
   * of it).
   */
  private Rounds rounds(List<double[]> rawRows, List<Network> rawNets, Preprocessor pre, List<float[]> pixels,
      Map<String, Client> clients, ServingService serving) throws Exception {
    double[] best = rawRows.stream().max((a, b) -> Double.compare(a[1], b[1])).orElseThrow();
    int b = (int) best[0];
    List<Network> nets = rawNets.subList(0, (int) best[5]);
    int top = concurrency.stream().max(Integer::compare).orElseThrow();
    Map<String, List<Round>> out = new LinkedHashMap<>();
    for (String path : paths) {
      List<Round> rows = new ArrayList<>();
      double raw = rawThroughput(nets, pre, pixels, b)[0];
      for (int r = 1; r <= rounds; r++) {
        Phase p = run(path, top, "round", clients.get(path), serving, null, warmup, duration);
        Round round = new Round(raw, p, rawThroughput(nets, pre, pixels, b)[0]);
        rows.add(round);
        System.out.printf(Locale.ROOT, "round %d/%d, %s, %d clients: raw %.0f, serving %.0f, raw %.0f images/s: %.2fx%n", r,
            rounds, label(path), top, round.rawBefore(), p.throughput(), round.rawAfter(), round.ratio());
        raw = round.rawAfter();
      }
      out.put(path, rows);
    }
    return new Rounds(b, nets.size(), top, out);
  }

  /** The median, least and greatest of each path's round ratios, against the goal. */
  private void reportRounds(Rounds rounds) {
    if (rounds == null) {
      return;
    }
    for (Map.Entry<String, List<Round>> e : rounds.byPath().entrySet()) {
      double[] ratios = e.getValue().stream().mapToDouble(Round::ratio).sorted().toArray();
      int n = ratios.length;
      double median = n % 2 == 1 ? ratios[n / 2] : (ratios[n / 2 - 1] + ratios[n / 2]) / 2;
      System.out.printf(Locale.ROOT, "rounds, %s at %d clients against raw batch %d on %d thread(s), each against the raw runs "
          + "either side: median %.2fx of %d (least %.2fx, greatest %.2fx; %d errors) (goal >= 0.85x: %s)%n", label(e.getKey()),
          rounds.clients(), rounds.batch(), rounds.threads(), median, n, ratios[0], ratios[n - 1],
          e.getValue().stream().mapToLong(r -> r.serving().errors()).sum(), median >= 0.85 ? "met" : "NOT met");
    }
  }

  private void report(List<double[]> raw, List<Phase> phases, int workers) {
    System.out.println();
    System.out.println("Raw DL4J output() on prepared batches (the baseline; with N threads, each runs its own copy)");
    System.out.printf(Locale.ROOT, "%-28s %12s %12s %12s %14s %18s%n", "batch size", "images/s", "before", "after", "ms per call",
        "CPU ms/1000 images");
    double best = 0;
    int bestBatch = 0;
    int bestThreads = 1;
    double bestCpu = 0;
    for (double[] r : raw) {
      double top = Math.max(r[1], r[2]);
      double cpu = r[1] >= r[2] ? r[3] : r[4];
      String name = "raw output() batch " + (int) r[0] + (r[5] > 1 ? " x" + (int) r[5] + " thr" : "");
      System.out.printf(Locale.ROOT, "%-28s %12.0f %12.0f %12.0f %14.2f %18.0f%n", name, top, r[1], r[2],
          1000 * r[0] * r[5] / top, 1e6 * cpu);
      if (top > best) {
        best = top;
        bestBatch = (int) r[0];
        bestThreads = (int) r[5];
        bestCpu = cpu;
      }
    }
    System.out.println();
    System.out.println("Serving, closed-loop clients (one image per request; http-binary and grpc: --images-per-request; HTTP "
        + "and gRPC: loopback, keep-alive, every image published as prediction and input events to the in-process broker; "
        + "in-process: the same batcher, no transport, no events); p50/p99 per request");
    System.out.printf(Locale.ROOT, "%-26s %7s %7s %10s %9s %9s %9s %10s %8s %12s%n", "path", "clients", "phase", "images/s",
        "x raw", "p50 ms", "p99 ms", "mean batch", "errors", "swaps/loads");
    for (Phase p : phases) {
      System.out.printf(Locale.ROOT, "%-26s %7d %7s %10.0f %9.2f %9.2f %9.2f %10.1f %8d %12s%n",
          label(p.path()), p.clients(), p.phase(), p.throughput(), p.throughput() / best,
          p.percentileMs(0.50), p.percentileMs(0.99), p.stats().meanBatch(), p.errors(),
          p.phase().equals("swaps") ? p.promotions() + "/" + p.stats().modelLoads() : "-");
      if (p.firstError() != null) {
        System.out.println("  first error: " + p.firstError());
      }
    }
    System.out.println();
    System.out.printf(Locale.ROOT, "raw best: %.0f images/s at batch %d on %d thread(s) (the better of before and after the serving "
        + "phases; serving ran %d inference worker(s))%n", best, bestBatch, bestThreads, workers);
    for (String path : paths) {
      Phase top = phases.stream().filter(p -> p.path().equals(path) && p.phase().equals("steady"))
          .max((a, b) -> Double.compare(a.throughput(), b.throughput())).orElse(null);
      if (top != null) {
        double ratio = top.throughput() / best;
        System.out.printf(Locale.ROOT, "throughput ratio, %s at its best (%d clients) / raw best: %.2fx (goal >= 0.85x: %s)%n",
            label(path), top.clients(), ratio, ratio >= 0.85 ? "met" : "NOT met");
        // a batch cannot hold more requests than clients have in flight: raw at the batch size the worker formed is the
        // ceiling of this concurrency, and the ratio to it is the cost of serving itself
        double[] near = raw.stream().filter(r -> (int) r[5] == workers).min((a, b) -> Double.compare(
            Math.abs(a[0] - top.stats().meanBatch()), Math.abs(b[0] - top.stats().meanBatch()))).orElseThrow();
        System.out.printf(Locale.ROOT, "  the same against raw at batch %d on %d thread(s), nearest to its mean batch %.1f: %.2fx%n",
            (int) near[0], workers, top.stats().meanBatch(), top.throughput() / Math.max(near[1], near[2]));
      }
    }
    for (Phase s : phases) {
      if (!s.phase().equals("swaps")) {
        continue;
      }
      Phase steady = phases.stream().filter(p -> p.path().equals(s.path()) && p.clients() == s.clients()
          && p.phase().equals("steady")).findFirst().orElse(null);
      if (steady != null && steady.requests() > 0 && s.requests() > 0) {
        double ratio = s.percentileMs(0.99) / steady.percentileMs(0.99);
        System.out.printf(Locale.ROOT, "p99 during swaps / steady p99, %s, %d clients: %.2f / %.2f ms = %.2fx (goal <= 1.5x: %s); "
            + "%d promotions, %d loads from disk (%.0f ms each on average), %d superseded, %d failed swaps, %d errors; serving's "
            + "own per-swap measure: %.2fx (mean of %d windows)%n",
            label(s.path()), s.clients(), s.percentileMs(0.99), steady.percentileMs(0.99),
            ratio, ratio <= 1.5 ? "met" : "NOT met", s.promotions(), s.stats().modelLoads(), s.stats().meanLoadMs(),
            s.stats().superseded(), s.stats().failedSwaps(), s.errors(), s.stats().meanSwapJitter(), s.stats().swapJitterCount());
      }
    }
    System.out.println();
    System.out.println("Where the CPU went: CPU ms per 1000 images by component (threads of this process, from /proc; "
        + "inference = the worker and its native thread pools; swaps = the followers loading models; jit = the JIT compilers; gc = garbage collection and native memory release)");
    System.out.printf(Locale.ROOT, "%-26s %7s %7s", "path", "clients", "phase");
    ThreadCpu.COMPONENTS.forEach(c -> System.out.printf(Locale.ROOT, " %9s", c));
    System.out.printf(Locale.ROOT, " %9s %9s%n", "total", "busy");
    int cores = Runtime.getRuntime().availableProcessors();
    for (Phase p : phases) {
      double images = p.requests() * (double) p.perRequest();
      if (images == 0) {
        continue;
      }
      System.out.printf(Locale.ROOT, "%-26s %7d %7s", label(p.path()), p.clients(), p.phase());
      double total = 0;
      for (String c : ThreadCpu.COMPONENTS) {
        double sec = p.cpu().getOrDefault(c, 0.0);
        total += sec;
        System.out.printf(Locale.ROOT, " %9.0f", 1e6 * sec / images);
      }
      // busy: the share of the machine's cores this process used during the phase
      System.out.printf(Locale.ROOT, " %9.0f %8.0f%%%n", 1e6 * total / images, 100 * total / (p.seconds() * cores));
    }
    // what a serving node alone costs: its own threads (not the bench's clients, nor the in-process broker that a deployment runs
    // elsewhere) per image, against raw output()'s whole-process CPU per image at its best batch
    for (String path : paths) {
      Phase top = phases.stream().filter(p -> p.path().equals(path) && p.phase().equals("steady"))
          .max((a, b) -> Double.compare(a.throughput(), b.throughput())).orElse(null);
      if (top == null || bestCpu <= 0) {
        continue;
      }
      double own = top.cpu().entrySet().stream().filter(e -> !e.getKey().equals("clients") && !e.getKey().equals("broker"))
          .mapToDouble(Map.Entry::getValue).sum() / (top.requests() * (double) top.perRequest());
      System.out.printf(Locale.ROOT, "CPU per image, %s (%d clients): serving's own threads %.0f us against raw output() %.0f us "
          + "at batch %d on %d thread(s): raw/serving %.2fx (the share of raw's throughput a node with its cores to itself would "
          + "reach)%n", label(path), top.clients(), 1e6 * own, 1e6 * bestCpu, bestBatch, bestThreads, bestCpu / own);
    }
    long eventsFailed = phases.stream().mapToLong(p -> p.stats().eventsFailed()).sum();
    System.out.printf(Locale.ROOT, "prediction/input events that could not be sent during the phases: %d%n", eventsFailed);
  }

  private String label(String path) {
    return switch (path) {
      case "http" -> endpoint.equals("predict") ? "http /predict png" : "http v2 infer fp32";
      case "http-binary" -> "http v2 binary fp32 x" + imagesPerRequest;
      case "grpc" -> "grpc infer raw fp32 x" + imagesPerRequest;
      default -> "in-process batcher";
    };
  }

  static double percentile(long[] sorted, double p) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    int i = (int) Math.ceil(p * sorted.length) - 1;
    return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
  }

  private static long nanos(double seconds) {
    return Math.round(seconds * 1e9);
  }

  private static void sleepQuietly(long nanos) {
    try {
      TimeUnit.NANOSECONDS.sleep(nanos);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private static void await(Duration timeout, String what, java.util.function.BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("gave up after " + timeout.toSeconds() + " s waiting for " + what);
      }
      sleepQuietly(TimeUnit.MILLISECONDS.toNanos(20));
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    try (var paths = Files.walk(dir)) {
      for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  private static String load() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg"), StandardCharsets.US_ASCII).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }
}
