package dev.streamtune.serving.internal;

import static dev.streamtune.serving.internal.OpenInference.IMAGE_TENSOR;
import static dev.streamtune.serving.internal.OpenInference.INPUT_TENSOR;
import static dev.streamtune.serving.internal.OpenInference.LABELS;
import static dev.streamtune.serving.internal.OpenInference.PROBABILITIES;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.model.ModelSpec;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * An Open Inference Protocol (KServe V2) inference request, parsed and validated against the model it addresses: its id, the
 * images decoded for the model (FP32 tensors in the network's declared shape and layout, or BYTES of encoded images through
 * the model's {@link Preprocessor}), the outputs asked for and the labels per image. Pure: no transport, no model call; every
 * problem is a {@link ServingRejection} naming it.
 *
 * <p>{@link #parse} reads the REST binding's JSON. The checks that do not depend on the encoding ({@link #id}, {@link #output},
 * {@link #classification}, {@link #header}, {@link #fp32}, {@link #bytes}) are shared with the gRPC binding's reader
 * ({@link GrpcInferRequests}), so both refuse the same requests with the same messages.
 *
 * @param id the request's id, or null
 * @param inputs one entry per image, channel-major values as the network takes them
 * @param outputs the output tensors asked for
 * @param topK labels per image
 * @param binaryOutputs the outputs to answer as binary data after the JSON (the REST binary tensor data extension), a subset of
 *     {@code outputs}
 */
record OpenInferenceRequest(String id, List<InferenceBatcher.Input> inputs, List<String> outputs, int topK,
    List<String> binaryOutputs) {
  /** The request header that gives the length of the JSON part of a body followed by binary tensor data. */
  static final String BINARY_HEADER = "Inference-Header-Content-Length";

  /** A request answered all in JSON (the gRPC binding's, and REST's without the binary extension). */
  OpenInferenceRequest(String id, List<InferenceBatcher.Input> inputs, List<String> outputs, int topK) {
    this(id, inputs, outputs, topK, List.of());
  }

  /** Nested data deeper than the deepest accepted shape is refused before walking it. */
  static final int MAX_RANK = 4;
  /** Both outputs, in this order, when a request asks for none. */
  static final List<String> ALL_OUTPUTS = List.of(PROBABILITIES, LABELS);

  static ServingRejection bad(String message) {
    return new ServingRejection(RejectReason.BAD_TENSOR, message);
  }

  /**
   * An input tensor's name, datatype and shape, checked against the model before its data is read.
   *
   * @param count values (FP32) or elements (BYTES) the shape holds
   * @param rows images: the first dimension
   */
  record Header(String name, String datatype, long[] shape, int count, int rows) {
    /** The shape as a request writes it, for messages: {@code [2,784]}. */
    String shown() {
      return Arrays.toString(shape).replace(" ", "");
    }
  }

  /** The refusal of a request without exactly one input tensor; {@code what} names where the tensors are. */
  static ServingRejection notOneInput(String what, ModelSpec spec) {
    return bad(what + " must be exactly one tensor: '" + INPUT_TENSOR + "' (FP32 "
        + Arrays.toString(spec.batchShape(-1)).replace("-1", "N").replace(" ", "") + " or [N," + spec.imageSize()
        + "]) or '" + IMAGE_TENSOR + "' (BYTES [N], PNG/JPEG)");
  }

  /** The request id as given (null or empty: none), checked. */
  static String id(String id) {
    if (id != null && id.length() > 256) {
      throw bad("\"id\" is longer than 256 characters");
    }
    return id == null || id.isEmpty() ? null : id;
  }

  /** Adds a requested output's name to {@code names}: one of the two outputs, not asked twice; {@code shown} is what was sent. */
  static void output(String name, String shown, List<String> names) {
    if (name == null || !(name.equals(PROBABILITIES) || name.equals(LABELS))) {
      throw bad("unknown output " + (name == null ? shown : "'" + name + "'") + "; the outputs are '" + PROBABILITIES + "' and '"
          + LABELS + "'");
    }
    if (names.contains(name)) {
      throw bad("output '" + name + "' requested twice");
    }
    names.add(name);
  }

  /** The labels per image an output's {@code classification} parameter asks for; {@code k} is null when not an integer. */
  static int classification(Long k, String shown) {
    if (k == null || k < 1 || k > Integer.MAX_VALUE) {
      throw bad("output parameter \"classification\" must be a positive integer, was " + shown);
    }
    return k.intValue();
  }

  /**
   * Checks an input tensor's header against the model: a name and a datatype, 1 to {@link #MAX_RANK} non-negative dimensions
   * holding at least one and at most {@code capacity} images and no more than {@code maxValues} values, and a shape that fits
   * the datatype: FP32 {@code [N,C,H,W]} (or NHWC, as the model's layout says) or {@code [N,C*H*W]}, BYTES {@code [N]} or
   * {@code [N,1]}.
   */
  static Header header(String name, String datatype, long[] shape, ModelSpec spec, int capacity, int maxValues) {
    if (name == null || name.isEmpty()) {
      throw bad("input tensor without a \"name\"");
    }
    if (datatype == null || datatype.isEmpty()) {
      throw bad("input '" + name + "' has no \"datatype\"");
    }
    if (shape.length == 0 || shape.length > MAX_RANK) {
      throw bad("input '" + name + "' needs a \"shape\" of 1 to " + MAX_RANK + " dimensions");
    }
    String shown = Arrays.toString(shape).replace(" ", "");
    long count = 1;
    for (int i = 0; i < shape.length; i++) {
      if (shape[i] < 0) {
        throw bad("input '" + name + "' shape " + shown + ": dimension " + i + " is not a non-negative integer");
      }
      try {
        count = Math.multiplyExact(count, shape[i]);
      } catch (ArithmeticException e) {
        throw bad("input '" + name + "' shape " + shown + " is too large");
      }
    }
    if (count > maxValues) {
      throw bad("input '" + name + "' shape " + shown + " needs more values than a request body of at most " + maxValues
          + " bytes can hold");
    }
    long rows = shape[0];
    if (rows < 1) {
      throw bad("input '" + name + "' shape " + shown + " holds no image");
    }
    if (rows > capacity) {
      throw bad("input '" + name + "' holds " + rows + " images; one request may hold at most " + capacity);
    }
    int h = spec.height();
    int w = spec.width();
    int c = spec.channels();
    String declared = declared(spec);
    switch (datatype) {
      case "FP32" -> {
        long[] one = spec.batchShape(1);
        boolean image = shape.length == 4 && shape[1] == one[1] && shape[2] == one[2] && shape[3] == one[3];
        boolean flat = shape.length == 2 && shape[1] == (long) c * h * w;
        if (!image && !flat) {
          throw bad("input '" + name + "' FP32 shape " + shown + " does not fit the model: expected " + declared
              + " (its layout is " + spec.layout() + ") or [N," + (c * h * w) + "]");
        }
      }
      case "BYTES" -> {
        if (!(shape.length == 1 || (shape.length == 2 && shape[1] == 1))) {
          throw bad("input '" + name + "' BYTES shape " + shown + " does not fit: expected [N] (or [N,1]) encoded images");
        }
      }
      default -> throw bad("input '" + name + "' datatype '" + datatype + "' is not supported: send FP32 network input ("
          + spec.normalization().describe() + ") of shape " + declared + " or [N," + (c * h * w)
          + "], or BYTES [N] of PNG/JPEG images");
    }
    return new Header(name, datatype, shape.clone(), (int) count, (int) rows);
  }

  private static String declared(ModelSpec spec) {
    return spec.layout() == ModelSpec.Layout.NHWC
        ? "[N," + spec.height() + "," + spec.width() + "," + spec.channels() + "]"
        : "[N," + spec.channels() + "," + spec.height() + "," + spec.width() + "]";
  }

  /**
   * The images of an FP32 tensor: {@code filled} values read, each in [0,1], as many as the header's shape holds; each image
   * channel-major (an NHWC model's values are reordered).
   */
  static List<InferenceBatcher.Input> fp32(Header h, float[] values, int filled, ModelSpec spec) {
    if (filled != h.count()) {
      throw bad("input '" + h.name() + "' data holds " + filled + " values but shape " + h.shown() + " needs " + h.count());
    }
    for (int i = 0; i < filled; i++) {
      float v = values[i];
      if (!(v >= 0 && v <= 1)) {
        throw bad("input '" + h.name() + "' value " + i + " is " + v + "; pixels are grey levels in [0,1] (value/255)");
      }
    }
    int c = spec.channels();
    int height = spec.height();
    int w = spec.width();
    boolean nhwc = spec.layout() == ModelSpec.Layout.NHWC;
    int size = c * height * w;
    List<InferenceBatcher.Input> out = new ArrayList<>(h.rows());
    for (int r = 0; r < h.rows(); r++) {
      float[] px = Arrays.copyOfRange(values, r * size, (r + 1) * size);
      out.add(new InferenceBatcher.Input(null, nhwc ? hwcToChw(px, c, height, w) : px));
    }
    return out;
  }

  /** The images of a BYTES tensor: as many encoded images as the header's shape holds, each decoded for the model. */
  static List<InferenceBatcher.Input> bytes(Header h, List<byte[]> encoded, ModelSpec spec) {
    if (encoded.size() != h.count()) {
      throw bad("input '" + h.name() + "' data holds " + encoded.size() + " values but shape " + h.shown() + " needs " + h.count());
    }
    Preprocessor pre = Preprocessor.of(spec);
    List<InferenceBatcher.Input> out = new ArrayList<>(h.rows());
    for (int i = 0; i < encoded.size(); i++) {
      try {
        out.add(new InferenceBatcher.Input(encoded.get(i), pre.decode(encoded.get(i))));
      } catch (ImageFormatException e) {
        throw new ServingRejection(RejectReason.of(e.kind()), "input '" + h.name() + "' element " + i + ": " + e.getMessage());
      }
    }
    return out;
  }

  /**
   * The images of a tensor sent as raw bytes ({@code where}: gRPC's {@code raw_input_contents} or REST's binary data): FP32 as
   * little-endian 4-byte floats, BYTES as elements of a 4-byte little-endian length followed by that many bytes.
   */
  static List<InferenceBatcher.Input> raw(Header h, ByteBuffer raw, ModelSpec spec, String where) {
    ByteBuffer b = raw.slice().order(ByteOrder.LITTLE_ENDIAN);
    int size = b.remaining();
    if (h.datatype().equals("FP32")) {
      long needed = 4L * h.count();
      if (size != needed) {
        throw bad("input '" + h.name() + "' " + where + " holds " + size + " bytes but FP32 shape " + h.shown() + " needs " + needed
            + " (4 bytes a value, little-endian)");
      }
      float[] values = new float[h.count()];
      b.asFloatBuffer().get(values);
      return fp32(h, values, values.length, spec);
    }
    List<byte[]> out = new ArrayList<>();
    while (b.hasRemaining()) {
      int n = b.remaining() < 4 || out.size() >= h.count() ? -1 : b.getInt();
      if (n < 0 || n > b.remaining()) {
        throw bad("input '" + h.name() + "' " + where + " (" + size + " bytes) is not " + h.count() + " elements of a 4-byte "
            + "little-endian length followed by that many bytes, as BYTES shape " + h.shown() + " needs");
      }
      byte[] e = new byte[n];
      b.get(e);
      out.add(e);
    }
    return bytes(h, out, spec);
  }

  /**
   * Validates the whole JSON request and decodes its images for {@code spec}.
   *
   * @param defaultTopK labels per image when the request does not ask ({@code classification})
   * @param capacity the most images one request may hold (the inference queue's size)
   * @param bodyMaxBytes the body limit, which also bounds how many values a tensor's shape may claim
   * @throws ServingRejection naming the problem
   */
  static OpenInferenceRequest parse(byte[] body, ModelSpec spec, int defaultTopK, int capacity, int bodyMaxBytes) {
    return parse(body, null, spec, defaultTopK, capacity, bodyMaxBytes);
  }

  /**
   * Validates a request of the binary tensor data extension: {@code body} is the JSON part, {@code binary} the bytes after it
   * (null when the request has none), which an input with the parameter {@code binary_data_size} takes instead of
   * {@code data}; outputs asked with the parameter {@code binary_data} (or all, with the request parameter
   * {@code binary_data_output}) are answered as binary data.
   */
  static OpenInferenceRequest parse(byte[] body, ByteBuffer binary, ModelSpec spec, int defaultTopK, int capacity,
      int bodyMaxBytes) {
    if (body.length == 0) {
      throw new ServingRejection(RejectReason.EMPTY, "empty body: send a JSON inference request with \"inputs\"");
    }
    JsonNode root;
    try {
      root = Json.MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw bad("invalid JSON: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw bad("invalid JSON: " + e.getMessage());
    }
    if (root == null || !root.isObject()) {
      throw bad("the inference request must be a JSON object with \"inputs\"");
    }
    JsonNode idNode = root.get("id");
    if (idNode != null && !idNode.isNull() && !idNode.isTextual()) {
      throw bad("\"id\" must be a string");
    }
    String id = id(idNode == null || idNode.isNull() ? null : idNode.asText());
    JsonNode inputs = root.get("inputs");
    if (inputs == null || !inputs.isArray() || inputs.size() != 1) {
      throw notOneInput("\"inputs\"", spec);
    }
    int topK = defaultTopK;
    List<String> outputs = ALL_OUTPUTS;
    boolean allBinary = flag(root.path("parameters").path("binary_data_output"), "request parameter \"binary_data_output\"");
    List<String> binaryOutputs = new ArrayList<>();
    JsonNode requested = root.get("outputs");
    if (requested != null && !requested.isNull()) {
      if (!requested.isArray()) {
        throw bad("\"outputs\" must be an array of {\"name\": ...}");
      }
      List<String> names = new ArrayList<>();
      for (JsonNode o : requested) {
        output(o.isObject() && o.path("name").isTextual() ? o.get("name").asText() : null, o.toString(), names);
        JsonNode k = o.path("parameters").path("classification");
        if (!k.isMissingNode() && !k.isNull()) {
          topK = classification(k.isIntegralNumber() && k.canConvertToLong() ? k.asLong() : null, k.toString());
        }
        JsonNode b = o.path("parameters").path("binary_data");
        boolean asBinary = b.isMissingNode() || b.isNull() ? allBinary : flag(b, "output parameter \"binary_data\"");
        if (asBinary) {
          binaryOutputs.add(names.get(names.size() - 1));
        }
      }
      if (!names.isEmpty()) {
        outputs = List.copyOf(names);
      }
    }
    if (requested == null || requested.isNull() || requested.isEmpty()) {
      binaryOutputs = allBinary ? new ArrayList<>(outputs) : List.of();
    }
    return new OpenInferenceRequest(id, tensor(inputs.get(0), binary, spec, capacity, bodyMaxBytes), outputs, topK,
        List.copyOf(binaryOutputs));
  }

  /** A boolean parameter: absent is false. */
  private static boolean flag(JsonNode v, String what) {
    if (v.isMissingNode() || v.isNull()) {
      return false;
    }
    if (!v.isBoolean()) {
      throw bad(what + " must be true or false, was " + v);
    }
    return v.asBoolean();
  }

  private static List<InferenceBatcher.Input> tensor(JsonNode t, ByteBuffer binary, ModelSpec spec, int capacity,
      int bodyMaxBytes) {
    if (!t.isObject()) {
      throw bad("an input tensor must be an object with name, datatype, shape and data");
    }
    String name = t.path("name").isTextual() ? t.get("name").asText() : null;
    if (name == null) {
      throw bad("input tensor without a \"name\"");
    }
    String datatype = t.path("datatype").isTextual() ? t.get("datatype").asText() : null;
    if (datatype == null) {
      throw bad("input '" + name + "' has no \"datatype\"");
    }
    JsonNode shapeNode = t.get("shape");
    if (shapeNode == null || !shapeNode.isArray() || shapeNode.isEmpty() || shapeNode.size() > MAX_RANK) {
      throw bad("input '" + name + "' needs a \"shape\" array of 1 to " + MAX_RANK + " dimensions");
    }
    long[] shape = new long[shapeNode.size()];
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.isIntegralNumber() || !d.canConvertToLong()) {
        throw bad("input '" + name + "' shape " + shapeNode + ": dimension " + i + " is not a non-negative integer");
      }
      shape[i] = d.asLong();
    }
    Header h = header(name, datatype, shape, spec, capacity, bodyMaxBytes);
    JsonNode size = t.path("parameters").path("binary_data_size");
    if (!size.isMissingNode() && !size.isNull()) {
      if (!size.isIntegralNumber() || !size.canConvertToLong() || size.asLong() < 0) {
        throw bad("input '" + name + "' parameter \"binary_data_size\" must be a non-negative integer, was " + size);
      }
      if (binary == null) {
        throw bad("input '" + name + "' has \"binary_data_size\" but the request has no binary data: send the JSON length in the "
            + BINARY_HEADER + " header and the tensor's bytes after the JSON");
      }
      if (t.has("data")) {
        throw bad("input '" + name + "' has both \"data\" and \"binary_data_size\"; send one");
      }
      if (size.asLong() != binary.remaining()) {
        throw bad("input '" + name + "' \"binary_data_size\" is " + size.asLong() + " but " + binary.remaining()
            + " bytes follow the JSON (" + BINARY_HEADER + ")");
      }
      return raw(h, binary, spec, "binary data");
    }
    if (binary != null && binary.hasRemaining()) {
      throw bad(binary.remaining() + " bytes follow the JSON but no input has \"binary_data_size\"");
    }
    JsonNode data = t.get("data");
    if (data == null || !data.isArray()) {
      throw bad("input '" + name + "' needs a \"data\" array");
    }
    if (h.datatype().equals("FP32")) {
      float[] values = new float[h.count()];
      return fp32(h, values, flatten(data, 0, shape.length, values, 0, name, h.count()), spec);
    }
    List<String> strings = new ArrayList<>();
    strings(data, 0, shape.length, strings, name, h.count());
    List<byte[]> encoded = new ArrayList<>(strings.size());
    for (int i = 0; i < strings.size(); i++) {
      encoded.add(base64(strings.get(i), name, i));
    }
    return bytes(h, encoded, spec);
  }

  /** One image's values from {@code [H,W,C]} order to channel-major {@code [C,H,W]}. */
  static float[] hwcToChw(float[] hwc, int c, int h, int w) {
    float[] chw = new float[hwc.length];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        for (int k = 0; k < c; k++) {
          chw[(k * h + y) * w + x] = hwc[(y * w + x) * c + k];
        }
      }
    }
    return chw;
  }

  /** Decodes standard or URL-safe base64, line breaks allowed; anything else is refused naming the element. */
  private static byte[] base64(String s, String name, int i) {
    String compact = s.replaceAll("\\s+", "");
    try {
      return Base64.getDecoder().decode(compact);
    } catch (IllegalArgumentException e) {
      try {
        return Base64.getUrlDecoder().decode(compact);
      } catch (IllegalArgumentException e2) {
        throw bad("input '" + name + "' element " + i + " is not base64: " + e.getMessage());
      }
    }
  }

  /** Copies numbers of flat or nested data (no deeper than the shape) into {@code into}; returns the count read. */
  private static int flatten(JsonNode node, int depth, int rank, float[] into, int at, String name, long max) {
    for (JsonNode e : node) {
      if (e.isArray()) {
        if (depth + 1 >= rank) {
          throw bad("input '" + name + "' data is nested deeper than its shape");
        }
        at = flatten(e, depth + 1, rank, into, at, name, max);
        continue;
      }
      if (!e.isNumber()) {
        throw bad("input '" + name + "' is FP32 but its data holds " + (e.isTextual() ? "a string" : e.getNodeType()
            .toString().toLowerCase(Locale.ROOT)) + " at value " + at);
      }
      if (at >= max) {
        throw bad("input '" + name + "' data holds more values than its shape's " + max);
      }
      into[at++] = (float) e.asDouble();
    }
    return at;
  }

  private static void strings(JsonNode node, int depth, int rank, List<String> into, String name, long max) {
    for (JsonNode e : node) {
      if (e.isArray()) {
        if (depth + 1 >= rank) {
          throw bad("input '" + name + "' data is nested deeper than its shape");
        }
        strings(e, depth + 1, rank, into, name, max);
        continue;
      }
      if (!e.isTextual()) {
        throw bad("input '" + name + "' is BYTES but its data holds " + e.getNodeType().toString().toLowerCase(Locale.ROOT)
            + " at element " + into.size() + "; send base64-encoded images as strings");
      }
      if (into.size() >= max) {
        throw bad("input '" + name + "' data holds more values than its shape's " + max);
      }
      into.add(e.asText());
    }
  }
}
