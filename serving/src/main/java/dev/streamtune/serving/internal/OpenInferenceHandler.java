package dev.streamtune.serving.internal;

import com.sun.net.httpserver.HttpExchange;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.http.HttpError;
import dev.streamtune.core.http.Route;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.records.Prediction;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The Open Inference Protocol (KServe V2) over REST, under {@code /v2}:
 *
 * <ul>
 *   <li>{@code GET /v2}: server metadata; {@code GET /v2/health/live}, {@code GET /v2/health/ready} (503 until a model serves)
 *   <li>{@code GET /v2/models/{name}[/versions/{v}]}: model metadata (loaded versions, platform, inputs, outputs, and in
 *       {@code parameters} the described version, its label set and sha256)
 *   <li>{@code GET /v2/models/{name}[/versions/{v}]/ready}
 *   <li>{@code POST /v2/models/{name}[/versions/{v}]/infer}: one input tensor, either {@code FP32} of shape {@code [N,1,H,W]} or
 *       {@code [N,H*W]} (pixels in [0,1], data flat or nested) or {@code BYTES} of shape {@code [N]} holding base64 PNG/JPEG
 *       images; answers the outputs {@code probabilities} ({@code FP32 [N,classes]}) and {@code labels} ({@code BYTES [N,k]},
 *       most probable first; {@code k} from the output parameter {@code classification}, else the default top-k)
 * </ul>
 *
 * <p>The request is validated whole at the boundary before anything is queued, so a refused request costs no inference. It is
 * answered by the version it names (404 naming the loaded ones when that is not loaded) or, without one, by the version serving
 * when it arrives, through the same {@link InferenceBatcher} as {@code /predict}; each image is one prediction, published as a
 * prediction and an input event like {@code /predict}'s, and its id is returned in the response parameter
 * {@code prediction_ids}. Errors are {@code {"error": "..."}}: 400 bad JSON, shape or datatype, 404 unknown model or version,
 * 405 wrong method, 413 too large, 415 not JSON, 429 queue full, 503 not ready.
 */
public final class OpenInferenceHandler implements Route {
  public static final String PATH = "/v2";
  public static final String PLATFORM = "deeplearning4j";
  public static final String INPUT_TENSOR = "input";
  public static final String IMAGE_TENSOR = "image";
  public static final String PROBABILITIES = "probabilities";
  public static final String LABELS = "labels";
  private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(30);

  private final String modelName;
  private final ModelHolder models;
  private final InferenceBatcher batcher;
  private final EventPublisher events;
  private final ServingMetrics metrics;
  private final int defaultTopK;
  private final int bodyMaxBytes;
  private final Supplier<ServiceState> state;
  private final Clock clock;

  public OpenInferenceHandler(String modelName, ModelHolder models, InferenceBatcher batcher, EventPublisher events,
      ServingMetrics metrics, int defaultTopK, int bodyMaxBytes, Supplier<ServiceState> state, Clock clock) {
    this.modelName = Objects.requireNonNull(modelName, "modelName");
    this.models = Objects.requireNonNull(models, "models");
    this.batcher = Objects.requireNonNull(batcher, "batcher");
    this.events = Objects.requireNonNull(events, "events");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.defaultTopK = defaultTopK;
    this.bodyMaxBytes = bodyMaxBytes;
    this.state = Objects.requireNonNull(state, "state");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** One tensor of metadata: name, datatype and shape, -1 for a variable dimension. */
  public record TensorMetadata(String name, String datatype, List<Long> shape) {}

  /**
   * The model metadata response. {@code parameters} describes the version the metadata is of (the one named in the path, else
   * the one serving): {@code version}, {@code labels} (its label set, in the order of the {@code probabilities} columns) and
   * {@code sha256}; a version with a grown head announces its own, longer, label set and output shape.
   */
  public record ModelMetadata(String name, List<String> versions, String platform, List<TensorMetadata> inputs,
      List<TensorMetadata> outputs, Map<String, Object> parameters) {}

  /** One output tensor of an inference response. */
  public record OutputTensor(String name, String datatype, List<Long> shape, Object data) {}

  /** The inference response; {@code parameters} carries {@code prediction_ids}, one per image, for feedback. */
  public record InferResponse(String model_name, String model_version, String id, Map<String, Object> parameters,
      List<OutputTensor> outputs) {}


  @Override
  public void handle(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    if (!path.equals(PATH) && !path.startsWith(PATH + "/")) {
      throw HttpError.notFound("no such path " + path);
    }
    List<String> seg = new ArrayList<>();
    for (String s : path.substring(PATH.length()).split("/")) {
      if (!s.isEmpty()) {
        seg.add(s);
      }
    }
    try {
      route(ex, seg);
    } catch (ServingRejection e) {
      throw e.toHttpError(ex, models, metrics);
    }
  }

  private void route(HttpExchange ex, List<String> seg) throws IOException {
    int n = seg.size();
    if (n == 0) {
      get(ex);
      ServiceHttp.json(ex, 200, Map.of("name", "streamtune", "version", version(), "extensions", List.of()));
      return;
    }
    if (n == 2 && seg.get(0).equals("health")) {
      get(ex);
      if (seg.get(1).equals("live")) {
        ServiceHttp.json(ex, 200, Map.of("live", true));
        return;
      }
      if (seg.get(1).equals("ready")) {
        boolean ready = state.get() == ServiceState.RUNNING;
        if (!ready) {
          ex.getResponseHeaders().set("Retry-After", "1");
        }
        ServiceHttp.json(ex, ready ? 200 : 503, ready ? Map.of("ready", true)
            : Map.of("ready", false, "error", "not ready: " + state.get()));
        return;
      }
    }
    if (n >= 2 && seg.get(0).equals("models")) {
      String name = seg.get(1);
      String version = null;
      int rest = 2;
      if (n >= 4 && seg.get(2).equals("versions")) {
        version = seg.get(3);
        rest = 4;
      }
      String action = n == rest ? "" : n == rest + 1 ? seg.get(rest) : null;
      if (action != null && (action.isEmpty() || action.equals("ready") || action.equals("infer"))) {
        if (action.equals("infer")) {
          post(ex);
          infer(ex, name, version);
          return;
        }
        get(ex);
        LoadedModel m = resolve(name, version);
        if (action.equals("ready")) {
          ServiceHttp.json(ex, 200, Map.of("name", name, "ready", true));
        } else {
          ServiceHttp.json(ex, 200, metadata(m));
        }
        return;
      }
    }
    throw HttpError.notFound("no such path " + ex.getRequestURI().getPath() + "; the Open Inference Protocol is served at "
        + PATH + "/health/{live,ready} and " + PATH + "/models/" + modelName + "[/versions/{v}][/ready|/infer]");
  }

  private static String version() {
    String v = OpenInferenceHandler.class.getPackage().getImplementationVersion();
    return v == null ? "dev" : v;
  }

  private static void get(HttpExchange ex) {
    if (!"GET".equalsIgnoreCase(ex.getRequestMethod())) {
      ex.getResponseHeaders().set("Allow", "GET");
      throw new ServingRejection(RejectReason.BAD_METHOD, "method " + ex.getRequestMethod() + " not allowed on "
          + ex.getRequestURI().getPath() + "; use GET");
    }
  }

  private static void post(HttpExchange ex) {
    if (!"POST".equalsIgnoreCase(ex.getRequestMethod())) {
      ex.getResponseHeaders().set("Allow", "POST");
      throw new ServingRejection(RejectReason.BAD_METHOD, "method " + ex.getRequestMethod() + " not allowed on "
          + ex.getRequestURI().getPath() + "; use POST with a JSON inference request");
    }
  }

  /** The model a request addresses: the version it names, or the one serving now. */
  private LoadedModel resolve(String name, String version) {
    if (!name.equals(modelName)) {
      throw new ServingRejection(RejectReason.UNKNOWN_MODEL, "unknown model '" + name + "'; this server serves '" + modelName
          + "'");
    }
    if (version == null) {
      LoadedModel m = models.current();
      if (m == null) {
        throw new ServingRejection(RejectReason.NO_MODEL, "model '" + name + "' is not ready: no version loaded yet; retry later");
      }
      return m;
    }
    List<Integer> loaded = models.loadedVersions();
    try {
      int v = Integer.parseInt(version);
      LoadedModel m = models.get(v).orElse(null);
      if (m != null) {
        return m;
      }
    } catch (NumberFormatException e) {
      // answered below: a version that is not a number is not loaded either
    }
    throw new ServingRejection(RejectReason.UNKNOWN_VERSION, "version '" + version + "' of model '" + name
        + "' is not loaded; loaded versions: " + (loaded.isEmpty() ? "none yet" : loaded));
  }

  private ModelMetadata metadata(LoadedModel m) {
    ModelSpec spec = m.spec();
    List<String> versions = models.loadedVersions().stream().map(String::valueOf).toList();
    List<Long> inputShape = java.util.Arrays.stream(spec.batchShape(-1)).boxed().toList();
    Map<String, Object> parameters = new LinkedHashMap<>();
    parameters.put("version", Integer.toString(m.version()));
    parameters.put("labels", spec.labels());
    parameters.put("sha256", m.manifest().sha256());
    return new ModelMetadata(modelName, versions, PLATFORM,
        List.of(new TensorMetadata(INPUT_TENSOR, "FP32", inputShape),
            new TensorMetadata(IMAGE_TENSOR, "BYTES", List.of(-1L))),
        List.of(new TensorMetadata(PROBABILITIES, "FP32", List.of(-1L, (long) spec.labels().size())),
            new TensorMetadata(LABELS, "BYTES", List.of(-1L, -1L))), parameters);
  }

  private void infer(HttpExchange ex, String name, String version) throws IOException {
    long t0 = System.nanoTime();
    LoadedModel model = resolve(name, version);
    byte[] body = read(ex);
    OpenInferenceRequest req = OpenInferenceRequest.parse(body, model.spec(), defaultTopK, batcher.capacity(),
        bodyMaxBytes);
    List<CompletableFuture<Inference>> futures = batcher.submit(req.inputs(), model, req.topK());
    List<Inference> answers = new ArrayList<>(futures.size());
    try {
      long deadline = System.nanoTime() + ANSWER_TIMEOUT.toNanos();
      for (CompletableFuture<Inference> f : futures) {
        answers.add(f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
      }
    } catch (ExecutionException e) {
      if (e.getCause() instanceof ServingRejection r) {
        throw r;
      }
      metrics.failed(model.version());
      throw new HttpError(500, "inference failed: " + e.getCause());
    } catch (TimeoutException e) {
      futures.forEach(f -> f.cancel(false));
      metrics.failed(model.version());
      throw new HttpError(503, "no answer from inference within " + ANSWER_TIMEOUT.toSeconds() + " s; retry later");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ServingRejection(RejectReason.SHUTTING_DOWN, "serving is shutting down");
    }
    Duration latency = Duration.ofNanos(System.nanoTime() - t0);
    double latencyMs = latency.toNanos() / 1e6;
    int rows = answers.size();
    int classes = model.spec().labels().size();
    int k = Math.min(req.topK(), classes);
    float[] probabilities = new float[rows * classes];
    List<String> labels = new ArrayList<>(rows * k);
    List<String> ids = new ArrayList<>(rows);
    for (int i = 0; i < rows; i++) {
      Inference a = answers.get(i);
      System.arraycopy(a.probabilities(), 0, probabilities, i * classes, classes);
      a.topK().forEach(lp -> labels.add(lp.label()));
      ids.add(UUID.randomUUID().toString());
      metrics.answered(a.version(), latency);
    }
    List<OutputTensor> outputs = new ArrayList<>(2);
    for (String o : req.outputs()) {
      outputs.add(o.equals(PROBABILITIES)
          ? new OutputTensor(PROBABILITIES, "FP32", List.of((long) rows, (long) classes), probabilities)
          : new OutputTensor(LABELS, "BYTES", List.of((long) rows, (long) k), labels));
    }
    Map<String, Object> parameters = new LinkedHashMap<>();
    parameters.put("prediction_ids", ids);
    parameters.put("latency_ms", latencyMs);
    String id = req.id() != null ? req.id() : UUID.randomUUID().toString();
    ServiceHttp.json(ex, 200, new InferResponse(model.model(), Integer.toString(model.version()), id, parameters, outputs));
    Preprocessor pre = Preprocessor.of(model.spec());
    for (int i = 0; i < rows; i++) {
      Inference a = answers.get(i);
      InferenceBatcher.Input in = req.inputs().get(i);
      byte[] image = in.encoded() != null ? in.encoded() : pre.toPng(in.pixels());
      events.publish(Prediction.of(ids.get(i), a.model(), a.version(), a.topK(), latencyMs, clock.instant()), image);
    }
  }

  private byte[] read(HttpExchange ex) throws IOException {
    String type = ex.getRequestHeaders().getFirst("Content-Type");
    if (type != null && !type.isBlank()) {
      String mime = type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
      if (!mime.equals("application/json")) {
        throw new ServingRejection(RejectReason.UNSUPPORTED_TYPE, "unsupported content type '" + mime
            + "'; send the inference request as application/json");
      }
    }
    if (ex.getRequestHeaders().getFirst("Inference-Header-Content-Length") != null) {
      throw new ServingRejection(RejectReason.UNSUPPORTED_TYPE,
          "the binary tensor data extension is not supported; send the tensors as JSON");
    }
    try {
      return ServiceHttp.readBody(ex, bodyMaxBytes);
    } catch (HttpError e) {
      throw new ServingRejection(RejectReason.TOO_LARGE, "request body over the limit of " + bodyMaxBytes + " bytes");
    }
  }

}
