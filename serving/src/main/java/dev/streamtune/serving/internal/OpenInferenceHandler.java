package dev.streamtune.serving.internal;

import com.sun.net.httpserver.HttpExchange;
import dev.streamtune.core.http.HttpError;
import dev.streamtune.core.http.Route;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.serving.internal.ServingMetrics.Protocol;
import java.io.IOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

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
 * <p>The transport-independent part (resolving the version, metadata, answering through the batcher, events) is
 * {@link OpenInference}, which the gRPC binding ({@link GrpcInferenceService}) shares. The request is validated whole at the
 * boundary before anything is queued, so a refused request costs no inference. It is answered by the version it names (404
 * naming the loaded ones when that is not loaded) or, without one, by the version serving when it arrives, through the same {@link InferenceBatcher} as {@code /predict}; each image is one prediction, published as a
 * prediction and an input event like {@code /predict}'s, and its id is returned in the response parameter
 * {@code prediction_ids}. Errors are {@code {"error": "..."}}: 400 bad JSON, shape or datatype, 404 unknown model or version,
 * 405 wrong method, 413 too large, 415 not JSON, 429 queue full, 503 not ready.
 */
public final class OpenInferenceHandler implements Route {
  public static final String PATH = "/v2";

  private final OpenInference protocol;
  private final ModelHolder models;
  private final ServingMetrics metrics;
  private final int bodyMaxBytes;

  public OpenInferenceHandler(OpenInference protocol, ModelHolder models, ServingMetrics metrics, int bodyMaxBytes) {
    this.protocol = Objects.requireNonNull(protocol, "protocol");
    this.models = Objects.requireNonNull(models, "models");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.bodyMaxBytes = bodyMaxBytes;
  }

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
    } catch (OpenInference.InferenceFailure e) {
      throw new HttpError(e.timedOut() ? 503 : 500, e.getMessage());
    }
  }

  private void route(HttpExchange ex, List<String> seg) throws IOException {
    int n = seg.size();
    if (n == 0) {
      get(ex);
      ServiceHttp.json(ex, 200, protocol.server());
      return;
    }
    if (n == 2 && seg.get(0).equals("health")) {
      get(ex);
      if (seg.get(1).equals("live")) {
        ServiceHttp.json(ex, 200, Map.of("live", true));
        return;
      }
      if (seg.get(1).equals("ready")) {
        boolean ready = protocol.ready();
        if (!ready) {
          ex.getResponseHeaders().set("Retry-After", "1");
        }
        ServiceHttp.json(ex, ready ? 200 : 503, ready ? Map.of("ready", true)
            : Map.of("ready", false, "error", "not ready: " + protocol.state()));
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
        LoadedModel m = protocol.resolve(name, version);
        if (action.equals("ready")) {
          ServiceHttp.json(ex, 200, Map.of("name", name, "ready", true));
        } else {
          ServiceHttp.json(ex, 200, protocol.metadata(m));
        }
        return;
      }
    }
    throw HttpError.notFound("no such path " + ex.getRequestURI().getPath() + "; the Open Inference Protocol is served at "
        + PATH + "/health/{live,ready} and " + PATH + "/models/" + protocol.modelName() + "[/versions/{v}][/ready|/infer]");
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

  private void infer(HttpExchange ex, String name, String version) throws IOException {
    long t0 = System.nanoTime();
    LoadedModel model = protocol.resolve(name, version);
    byte[] body = read(ex);
    OpenInferenceRequest req = OpenInferenceRequest.parse(body, model.spec(), protocol.defaultTopK(), protocol.capacity(),
        protocol.maxValues());
    OpenInference.Answered a = protocol.infer(model, req, t0, Protocol.HTTP);
    List<OutputTensor> outputs = new ArrayList<>(2);
    for (String o : a.outputs()) {
      outputs.add(o.equals(OpenInference.PROBABILITIES)
          ? new OutputTensor(o, "FP32", List.of((long) a.rows(), (long) a.classes()), a.probabilities())
          : new OutputTensor(o, "BYTES", List.of((long) a.rows(), (long) a.k()), a.labels()));
    }
    Map<String, Object> parameters = new LinkedHashMap<>();
    parameters.put("prediction_ids", a.predictionIds());
    parameters.put("latency_ms", a.latencyMs());
    ServiceHttp.json(ex, 200, new InferResponse(a.model().model(), Integer.toString(a.model().version()), a.id(), parameters,
        outputs));
    protocol.publish(a);
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
