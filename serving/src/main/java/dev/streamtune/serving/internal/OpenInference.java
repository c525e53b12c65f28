package dev.streamtune.serving.internal;

import dev.streamtune.core.ServiceState;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.records.Prediction;
import dev.streamtune.serving.internal.ServingMetrics.Protocol;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Supplier;

/**
 * The Open Inference Protocol (KServe V2) without its transport: what both bindings, REST ({@link OpenInferenceHandler}) and
 * gRPC ({@link GrpcInferenceService}), answer with. It resolves the model a request addresses (the version it names, else the
 * one serving), describes it, and answers a validated {@link OpenInferenceRequest} through the shared {@link InferenceBatcher},
 * counting it in {@link ServingMetrics} under the caller's protocol; {@link #publish} then sends each image's prediction and
 * input events. Every expected refusal is a {@link ServingRejection}, which each binding maps the one way it has. Thread-safe.
 */
public final class OpenInference {
  public static final String SERVER_NAME = "streamtune";
  public static final String PLATFORM = "deeplearning4j";
  public static final String INPUT_TENSOR = "input";
  public static final String IMAGE_TENSOR = "image";
  public static final String PROBABILITIES = "probabilities";
  public static final String LABELS = "labels";
  /** How long a request waits for its batches before it fails as unavailable; only reached when the worker is stuck. */
  static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(30);

  private final String modelName;
  private final ModelHolder models;
  private final InferenceBatcher batcher;
  private final EventPublisher events;
  private final ServingMetrics metrics;
  private final int defaultTopK;
  private final int maxValues;
  private final Supplier<ServiceState> state;
  private final Clock clock;

  /**
   * @param defaultTopK labels per image when a request does not ask ({@code classification})
   * @param maxValues the most values a tensor's shape may claim (the request body limit)
   */
  public OpenInference(String modelName, ModelHolder models, InferenceBatcher batcher, EventPublisher events,
      ServingMetrics metrics, int defaultTopK, int maxValues, Supplier<ServiceState> state, Clock clock) {
    this.modelName = Objects.requireNonNull(modelName, "modelName");
    this.models = Objects.requireNonNull(models, "models");
    this.batcher = Objects.requireNonNull(batcher, "batcher");
    this.events = Objects.requireNonNull(events, "events");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.defaultTopK = defaultTopK;
    this.maxValues = maxValues;
    this.state = Objects.requireNonNull(state, "state");
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /** The server metadata: name, version and the protocol extensions supported ({@code binary_tensor_data}, over REST). */
  public record ServerMetadata(String name, String version, List<String> extensions) {}

  /** One tensor of metadata: name, datatype and shape, -1 for a variable dimension. */
  public record TensorMetadata(String name, String datatype, List<Long> shape) {}

  /**
   * The model metadata. {@code parameters} describes the version the metadata is of (the one named, else the one serving):
   * {@code version}, {@code labels} (its label set, in the order of the {@code probabilities} columns) and {@code sha256}; a
   * version with a grown head announces its own, longer, label set and output shape.
   */
  public record ModelMetadata(String name, List<String> versions, String platform, List<TensorMetadata> inputs,
      List<TensorMetadata> outputs, Map<String, Object> parameters) {}

  /**
   * An answered inference request, before its events are published.
   *
   * @param model the version that answered every image
   * @param id the request's id, or a new one when it gave none
   * @param predictionIds one per image, the key of its prediction and input events (for feedback)
   * @param latency request arrival to answer
   * @param rows images answered
   * @param classes columns of {@code probabilities}: the model's label count
   * @param k labels per image in {@code labels}
   * @param probabilities {@code [rows, classes]} row-major
   * @param labels {@code [rows, k]} row-major, most probable first
   * @param outputs the output tensors asked for, in the order asked
   */
  public record Answered(LoadedModel model, String id, List<String> predictionIds, Duration latency, int rows, int classes, int k,
      float[] probabilities, List<String> labels, List<String> outputs, List<Inference> answers,
      List<InferenceBatcher.Input> inputs) {
    public double latencyMs() {
      return latency.toNanos() / 1e6;
    }
  }

  /** Inference failed inside serving (a 500), or no answer came in time (a 503); counted as an error. */
  public static final class InferenceFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final boolean timedOut;

    InferenceFailure(String message, boolean timedOut) {
      super(message, null, false, false);
      this.timedOut = timedOut;
    }

    /** True when no answer came within the time a request waits: the client may retry. */
    public boolean timedOut() {
      return timedOut;
    }
  }

  public ServerMetadata server() {
    String v = OpenInference.class.getPackage().getImplementationVersion();
    return new ServerMetadata(SERVER_NAME, v == null ? "dev" : v, List.of("binary_tensor_data"));
  }

  /** Ready when the service runs and a warm model serves. */
  public boolean ready() {
    return state.get() == ServiceState.RUNNING;
  }

  public ServiceState state() {
    return state.get();
  }

  /** The model served under this name (the one a request must address). */
  public String modelName() {
    return modelName;
  }

  /** The labels per image a request gets unless it asks otherwise. */
  int defaultTopK() {
    return defaultTopK;
  }

  /** The most images one request may hold: the inference queue's size. */
  int capacity() {
    return batcher.capacity();
  }

  /** The most values a tensor's shape may claim. */
  int maxValues() {
    return maxValues;
  }

  /**
   * The model a request addresses: the version it names (null or empty: the one serving now).
   *
   * @throws ServingRejection {@code UNKNOWN_MODEL} for another name, {@code UNKNOWN_VERSION} naming the loaded ones for a
   *     version not loaded, {@code NO_MODEL} before the first version is loaded
   */
  public LoadedModel resolve(String name, String version) {
    if (!modelName.equals(name)) {
      throw new ServingRejection(RejectReason.UNKNOWN_MODEL, "unknown model '" + name + "'; this server serves '" + modelName
          + "'");
    }
    if (version == null || version.isEmpty()) {
      LoadedModel m = models.current();
      if (m == null) {
        throw new ServingRejection(RejectReason.NO_MODEL, "model '" + name + "' is not ready: no version loaded yet; retry later");
      }
      return m;
    }
    List<Integer> loaded = models.loadedVersions();
    try {
      LoadedModel m = models.get(Integer.parseInt(version)).orElse(null);
      if (m != null) {
        return m;
      }
    } catch (NumberFormatException e) {
      // answered below: a version that is not a number is not loaded either
    }
    throw new ServingRejection(RejectReason.UNKNOWN_VERSION, "version '" + version + "' of model '" + name
        + "' is not loaded; loaded versions: " + (loaded.isEmpty() ? "none yet" : loaded));
  }

  /** The metadata of a loaded version. */
  public ModelMetadata metadata(LoadedModel m) {
    ModelSpec spec = m.spec();
    List<String> versions = models.loadedVersions().stream().map(String::valueOf).toList();
    List<Long> inputShape = Arrays.stream(spec.batchShape(-1)).boxed().toList();
    Map<String, Object> parameters = new LinkedHashMap<>();
    parameters.put("version", Integer.toString(m.version()));
    parameters.put("labels", spec.labels());
    parameters.put("sha256", m.manifest().sha256());
    return new ModelMetadata(modelName, versions, PLATFORM,
        List.of(new TensorMetadata(INPUT_TENSOR, "FP32", inputShape), new TensorMetadata(IMAGE_TENSOR, "BYTES", List.of(-1L))),
        List.of(new TensorMetadata(PROBABILITIES, "FP32", List.of(-1L, (long) spec.labels().size())),
            new TensorMetadata(LABELS, "BYTES", List.of(-1L, -1L))), parameters);
  }

  /**
   * Answers a validated request by {@code model}: queues its images (all or none), waits for their batches and counts each
   * image as an answered request under {@code protocol}. The caller writes the answer, then calls {@link #publish}.
   *
   * @param arrivedNanos {@link System#nanoTime()} when the request arrived
   * @throws ServingRejection {@code QUEUE_FULL}, {@code SHUTTING_DOWN}, or {@code WRONG_SIZE} for a model swapped meanwhile
   * @throws InferenceFailure when inference failed or did not answer in time
   */
  public Answered infer(LoadedModel model, OpenInferenceRequest req, long arrivedNanos, Protocol protocol) {
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
      metrics.failed(protocol, model.version());
      throw new InferenceFailure("inference failed: " + e.getCause(), false);
    } catch (TimeoutException e) {
      futures.forEach(f -> f.cancel(false));
      metrics.failed(protocol, model.version());
      throw new InferenceFailure("no answer from inference within " + ANSWER_TIMEOUT.toSeconds() + " s; retry later", true);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ServingRejection(RejectReason.SHUTTING_DOWN, "serving is shutting down");
    }
    Duration latency = Duration.ofNanos(System.nanoTime() - arrivedNanos);
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
      metrics.answered(protocol, a.version(), latency);
    }
    String id = req.id() != null ? req.id() : UUID.randomUUID().toString();
    return new Answered(model, id, List.copyOf(ids), latency, rows, classes, k, probabilities, List.copyOf(labels), req.outputs(),
        List.copyOf(answers), req.inputs());
  }

  /**
   * Publishes each image of an answered request as a prediction and an input event, as {@code /predict} does; images that came
   * as tensors are encoded as PNG on the event thread. Never throws.
   */
  public void publish(Answered a) {
    Preprocessor pre = Preprocessor.of(a.model().spec());
    Instant now = clock.instant();
    List<EventPublisher.Event> batch = new ArrayList<>(a.rows());
    for (int i = 0; i < a.rows(); i++) {
      Inference answer = a.answers().get(i);
      InferenceBatcher.Input in = a.inputs().get(i);
      Supplier<byte[]> image = in.encoded() != null ? in::encoded : () -> pre.toPng(in.pixels());
      batch.add(new EventPublisher.Event(Prediction.of(a.predictionIds().get(i), answer.model(), answer.version(), answer.topK(),
          a.latencyMs(), now), image));
    }
    events.publish(batch);
  }
}
