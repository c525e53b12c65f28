package dev.streamtune.serving.internal;

import com.sun.net.httpserver.HttpExchange;
import dev.streamtune.core.http.HttpError;
import dev.streamtune.core.http.Route;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.records.LabelProbability;
import dev.streamtune.core.records.Prediction;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * {@code POST /predict}: the encoded image is the body ({@code image/png}, {@code image/jpeg}, {@code image/gif},
 * {@code image/bmp}, {@code application/octet-stream} or no content type), {@code ?topk=N} optional, {@code ?version=N} optional
 * (a version still loaded answers, else 404 naming the loaded ones; without it, the version serving when the batch runs). Validates at the boundary
 * (method, content type, size, decodability and image size against the serving model's spec) before anything is queued, so a
 * refused request costs no inference; maps every refusal to its status with a JSON error naming the problem, counts it by reason
 * and answers 200 with {@link PredictResponse}. The events of an answered request are published after the answer is written.
 */
public final class PredictHandler implements Route {
  public static final String PATH = "/predict";
  private static final Set<String> CONTENT_TYPES = Set.of("image/png", "image/jpeg", "image/jpg", "image/gif", "image/bmp",
      "application/octet-stream");
  /** How long a request waits for its batch before it is answered 503; only reached when the worker is stuck. */
  private static final Duration ANSWER_TIMEOUT = Duration.ofSeconds(30);

  private final ModelHolder models;
  private final InferenceBatcher batcher;
  private final EventPublisher events;
  private final ServingMetrics metrics;
  private final int defaultTopK;
  private final int bodyMaxBytes;
  private final Clock clock;

  public PredictHandler(ModelHolder models, InferenceBatcher batcher, EventPublisher events, ServingMetrics metrics, int defaultTopK,
      int bodyMaxBytes, Clock clock) {
    this.models = Objects.requireNonNull(models, "models");
    this.batcher = Objects.requireNonNull(batcher, "batcher");
    this.events = Objects.requireNonNull(events, "events");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.defaultTopK = defaultTopK;
    this.bodyMaxBytes = bodyMaxBytes;
    this.clock = Objects.requireNonNull(clock, "clock");
  }

  /**
   * The body of a 200 answer.
   *
   * @param latencyMs request arrival to answer, in milliseconds
   */
  public record PredictResponse(String predictionId, String model, int version, List<LabelProbability> topK, double latencyMs) {}

  @Override
  public void handle(HttpExchange ex) throws IOException {
    long t0 = System.nanoTime();
    Inference answer;
    byte[] body;
    try {
      body = validateAndRead(ex);
      answer = infer(body, topK(ex), pinned(ex));
    } catch (ServingRejection e) {
      throw e.toHttpError(ex, models, metrics);
    }
    Duration latency = Duration.ofNanos(System.nanoTime() - t0);
    double latencyMs = latency.toNanos() / 1e6;
    String id = UUID.randomUUID().toString();
    metrics.answered(ServingMetrics.Protocol.HTTP, answer.version(), latency);
    ServiceHttp.json(ex, 200, new PredictResponse(id, answer.model(), answer.version(), answer.topK(), latencyMs));
    events.publish(Prediction.of(id, answer.model(), answer.version(), answer.topK(), latencyMs, clock.instant()), body);
  }

  private byte[] validateAndRead(HttpExchange ex) throws IOException {
    if (!"POST".equalsIgnoreCase(ex.getRequestMethod())) {
      ex.getResponseHeaders().set("Allow", "POST");
      throw new ServingRejection(RejectReason.BAD_METHOD, "method " + ex.getRequestMethod() + " not allowed on " + PATH
          + "; use POST with the image as the body");
    }
    String path = ex.getRequestURI().getPath();
    if (!path.equals(PATH) && !path.equals(PATH + "/")) {
      throw HttpError.notFound("no such path " + path + "; predictions are at " + PATH);
    }
    String type = ex.getRequestHeaders().getFirst("Content-Type");
    if (type != null && !type.isBlank()) {
      String mime = type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
      if (!CONTENT_TYPES.contains(mime)) {
        throw new ServingRejection(RejectReason.UNSUPPORTED_TYPE, "unsupported content type '" + mime
            + "'; send the encoded image as image/png, image/jpeg or application/octet-stream");
      }
    }
    String length = ex.getRequestHeaders().getFirst("Content-Length");
    if (length != null) {
      try {
        if (Long.parseLong(length.trim()) > bodyMaxBytes) {
          throw tooLarge();
        }
      } catch (NumberFormatException e) {
        // the server has already framed the body; reading it below enforces the limit
      }
    }
    byte[] body;
    try {
      body = ServiceHttp.readBody(ex, bodyMaxBytes);
    } catch (HttpError e) {
      throw tooLarge();
    }
    if (body.length == 0) {
      throw new ServingRejection(RejectReason.EMPTY, "empty body: send the encoded image (PNG or JPEG) as the request body");
    }
    return body;
  }

  private ServingRejection tooLarge() {
    return new ServingRejection(RejectReason.TOO_LARGE, "request body over the limit of " + bodyMaxBytes + " bytes");
  }

  private int topK(HttpExchange ex) {
    String v = ServiceHttp.query(ex).get("topk");
    if (v == null) {
      return defaultTopK;
    }
    try {
      int k = Integer.parseInt(v.trim());
      if (k >= 1) {
        return k;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw new ServingRejection(RejectReason.BAD_PARAMETER, "topk must be a positive integer, was '" + v + "'");
  }

  /** The version named by {@code ?version=N}, or null to be answered by the one serving when the batch runs. */
  private LoadedModel pinned(HttpExchange ex) {
    String v = ServiceHttp.query(ex).get("version");
    if (v == null) {
      return null;
    }
    try {
      LoadedModel m = models.get(Integer.parseInt(v.trim())).orElse(null);
      if (m != null) {
        return m;
      }
    } catch (NumberFormatException e) {
      // answered below: a version that is not a number is not loaded either
    }
    List<Integer> loaded = models.loadedVersions();
    throw new ServingRejection(RejectReason.UNKNOWN_VERSION, "version '" + v + "' is not loaded; loaded versions: "
        + (loaded.isEmpty() ? "none yet" : loaded));
  }

  private Inference infer(byte[] body, int topK, LoadedModel pinned) {
    LoadedModel model = pinned != null ? pinned : models.current();
    if (model == null) {
      throw new ServingRejection(RejectReason.NO_MODEL, "no model loaded yet; retry later");
    }
    float[] pixels;
    try {
      pixels = Preprocessor.of(model.spec()).decode(body);
    } catch (ImageFormatException e) {
      throw new ServingRejection(RejectReason.of(e.kind()), e.getMessage());
    }
    CompletableFuture<Inference> future = pinned != null
        ? batcher.submit(List.of(new InferenceBatcher.Input(body, pixels)), pinned, topK).get(0)
        : batcher.submit(body, pixels, model.spec(), topK);
    try {
      return future.get(ANSWER_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof ServingRejection r) {
        throw r;
      }
      metrics.failed(ServingMetrics.Protocol.HTTP, model.version());
      throw new HttpError(500, "inference failed: " + e.getCause());
    } catch (TimeoutException e) {
      future.cancel(false);
      metrics.failed(ServingMetrics.Protocol.HTTP, model.version());
      throw new HttpError(503, "no answer from inference within " + ANSWER_TIMEOUT.toSeconds() + " s; retry later");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ServingRejection(RejectReason.SHUTTING_DOWN, "serving is shutting down");
    }
  }
}
