package dev.streamtune.serving.internal;

import com.fasterxml.jackson.annotation.JsonInclude;
import com.sun.net.httpserver.HttpExchange;
import dev.streamtune.core.http.HttpError;
import dev.streamtune.core.http.Route;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.serving.internal.ServingMetrics.Protocol;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
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
 * {@code prediction_ids}.
 *
 * <p>The binary tensor data extension (reported in the server metadata as {@code binary_tensor_data}): a body may be the JSON
 * request followed by the input tensor's bytes, with the JSON's length in the {@code Inference-Header-Content-Length} header and
 * the input's parameter {@code binary_data_size} (FP32 little-endian, BYTES as 4-byte little-endian lengths each followed by an
 * encoded image); outputs asked with {@code binary_data} (or all, with the request parameter {@code binary_data_output}) are
 * answered the same way, {@code application/octet-stream}, the JSON's length in the same header. Errors are {@code {"error": "..."}}: 400 bad JSON, shape or datatype, 404 unknown model or version,
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

  /** One output tensor of an inference response: {@code data} in JSON, or null with {@code binary_data_size} in parameters. */
  @JsonInclude(JsonInclude.Include.NON_NULL)
  public record OutputTensor(String name, String datatype, List<Long> shape, Object data, Map<String, Object> parameters) {}

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
    String headerLength = ex.getRequestHeaders().getFirst(OpenInferenceRequest.BINARY_HEADER);
    byte[] body = read(ex, headerLength != null);
    OpenInferenceRequest req;
    if (headerLength == null) {
      req = OpenInferenceRequest.parse(body, model.spec(), protocol.defaultTopK(), protocol.capacity(), protocol.maxValues());
    } else {
      int json = jsonLength(headerLength, body.length);
      req = OpenInferenceRequest.parse(Arrays.copyOf(body, json), ByteBuffer.wrap(body, json, body.length - json),
          model.spec(), protocol.defaultTopK(), protocol.capacity(), protocol.maxValues());
    }
    OpenInference.Answered a = protocol.infer(model, req, t0, Protocol.HTTP);
    List<OutputTensor> outputs = new ArrayList<>(2);
    ByteArrayOutputStream binary = new ByteArrayOutputStream();
    for (String o : a.outputs()) {
      boolean prob = o.equals(OpenInference.PROBABILITIES);
      List<Long> shape = List.of((long) a.rows(), (long) (prob ? a.classes() : a.k()));
      String type = prob ? "FP32" : "BYTES";
      if (req.binaryOutputs().contains(o)) {
        byte[] data = prob ? littleEndian(a.probabilities()) : lengthPrefixed(a.labels());
        binary.writeBytes(data);
        outputs.add(new OutputTensor(o, type, shape, null, Map.of("binary_data_size", data.length)));
      } else {
        outputs.add(new OutputTensor(o, type, shape, prob ? a.probabilities() : a.labels(), null));
      }
    }
    Map<String, Object> parameters = new LinkedHashMap<>();
    parameters.put("prediction_ids", a.predictionIds());
    parameters.put("latency_ms", a.latencyMs());
    InferResponse response = new InferResponse(a.model().model(), Integer.toString(a.model().version()), a.id(), parameters,
        outputs);
    if (binary.size() == 0) {
      ServiceHttp.json(ex, 200, response);
    } else {
      byte[] header = Json.toBytes(response);
      ex.getResponseHeaders().set(OpenInferenceRequest.BINARY_HEADER, Integer.toString(header.length));
      ByteArrayOutputStream all = new ByteArrayOutputStream(header.length + binary.size());
      all.writeBytes(header);
      binary.writeTo(all);
      ServiceHttp.bytes(ex, 200, "application/octet-stream", all.toByteArray());
    }
    protocol.publish(a);
  }

  /** The JSON part's length from the binary extension's header: an integer within the body. */
  private static int jsonLength(String header, int bodyLength) {
    try {
      int n = Integer.parseInt(header.trim());
      if (n >= 0 && n <= bodyLength) {
        return n;
      }
    } catch (NumberFormatException e) {
      // answered below
    }
    throw OpenInferenceRequest.bad(OpenInferenceRequest.BINARY_HEADER + " must be the length of the JSON part, an integer from 0 "
        + "to the body's " + bodyLength + " bytes, was '" + header + "'");
  }

  private static byte[] littleEndian(float[] values) {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    b.asFloatBuffer().put(values);
    return b.array();
  }

  /** BYTES as binary data: each element a 4-byte little-endian length, then its UTF-8 bytes. */
  private static byte[] lengthPrefixed(List<String> values) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteBuffer len = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    for (String v : values) {
      byte[] b = v.getBytes(StandardCharsets.UTF_8);
      out.writeBytes(len.putInt(0, b.length).array());
      out.writeBytes(b);
    }
    return out.toByteArray();
  }

  private byte[] read(HttpExchange ex, boolean binary) throws IOException {
    String type = ex.getRequestHeaders().getFirst("Content-Type");
    if (type != null && !type.isBlank()) {
      String mime = type.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
      if (!mime.equals("application/json") && !(binary && mime.equals("application/octet-stream"))) {
        throw new ServingRejection(RejectReason.UNSUPPORTED_TYPE, "unsupported content type '" + mime
            + "'; send the inference request as application/json, or with binary tensor data (the "
            + OpenInferenceRequest.BINARY_HEADER + " header) as application/octet-stream");
      }
    }
    try {
      return ServiceHttp.readBody(ex, bodyMaxBytes);
    } catch (HttpError e) {
      throw new ServingRejection(RejectReason.TOO_LARGE, "request body over the limit of " + bodyMaxBytes + " bytes");
    }
  }
}
