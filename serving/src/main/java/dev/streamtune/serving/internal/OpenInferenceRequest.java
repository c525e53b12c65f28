package dev.streamtune.serving.internal;

import static dev.streamtune.serving.internal.OpenInferenceHandler.IMAGE_TENSOR;
import static dev.streamtune.serving.internal.OpenInferenceHandler.INPUT_TENSOR;
import static dev.streamtune.serving.internal.OpenInferenceHandler.LABELS;
import static dev.streamtune.serving.internal.OpenInferenceHandler.PROBABILITIES;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.model.ModelSpec;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;

/**
 * An Open Inference Protocol (KServe V2) inference request, parsed and validated against the model it addresses: its id, the
 * images decoded for the model (FP32 tensors in the network's declared shape and layout, or BYTES of encoded images through
 * the model's {@link Preprocessor}), the outputs asked for and the labels per image. Pure: no HTTP, no model call; every
 * problem is a {@link ServingRejection} naming it.
 *
 * @param id the request's id, or null
 * @param inputs one entry per image, channel-major values as the network takes them
 * @param outputs the output tensors asked for
 * @param topK labels per image
 */
record OpenInferenceRequest(String id, List<InferenceBatcher.Input> inputs, List<String> outputs, int topK) {
  /** Nested data deeper than the deepest accepted shape is refused before walking it. */
  private static final int MAX_RANK = 4;

  private static ServingRejection bad(String message) {
    return new ServingRejection(RejectReason.BAD_TENSOR, message);
  }

  /**
   * Validates the whole request and decodes its images for {@code spec}.
   *
   * @param defaultTopK labels per image when the request does not ask ({@code classification})
   * @param capacity the most images one request may hold (the inference queue's size)
   * @param bodyMaxBytes the body limit, which also bounds how many values a tensor's shape may claim
   * @throws ServingRejection naming the problem
   */
  static OpenInferenceRequest parse(byte[] body, ModelSpec spec, int defaultTopK, int capacity, int bodyMaxBytes) {
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
    String id = idNode == null || idNode.isNull() ? null : idNode.asText();
    if (id != null && id.length() > 256) {
      throw bad("\"id\" is longer than 256 characters");
    }
    JsonNode inputs = root.get("inputs");
    if (inputs == null || !inputs.isArray() || inputs.size() != 1) {
      throw bad("\"inputs\" must be an array of exactly one tensor: '" + INPUT_TENSOR + "' (FP32 "
          + java.util.Arrays.toString(spec.batchShape(-1)).replace("-1", "N").replace(" ", "") + " or [N," + spec.imageSize()
          + "]) or '" + IMAGE_TENSOR + "' (BYTES [N], base64 PNG/JPEG)");
    }
    int topK = defaultTopK;
    List<String> outputs = List.of(PROBABILITIES, LABELS);
    JsonNode requested = root.get("outputs");
    if (requested != null && !requested.isNull()) {
      if (!requested.isArray()) {
        throw bad("\"outputs\" must be an array of {\"name\": ...}");
      }
      List<String> names = new ArrayList<>();
      for (JsonNode o : requested) {
        String name = o.isObject() && o.path("name").isTextual() ? o.get("name").asText() : null;
        if (name == null || !(name.equals(PROBABILITIES) || name.equals(LABELS))) {
          throw bad("unknown output " + (name == null ? o.toString() : "'" + name + "'") + "; the outputs are '" + PROBABILITIES
              + "' and '" + LABELS + "'");
        }
        if (names.contains(name)) {
          throw bad("output '" + name + "' requested twice");
        }
        JsonNode k = o.path("parameters").path("classification");
        if (!k.isMissingNode() && !k.isNull()) {
          if (!k.canConvertToInt() || !k.isIntegralNumber() || k.asInt() < 1) {
            throw bad("output parameter \"classification\" must be a positive integer, was " + k);
          }
          topK = k.asInt();
        }
        names.add(name);
      }
      if (!names.isEmpty()) {
        outputs = List.copyOf(names);
      }
    }
    return new OpenInferenceRequest(id, tensor(inputs.get(0), spec, capacity, bodyMaxBytes), outputs, topK);
  }

  private static List<InferenceBatcher.Input> tensor(JsonNode t, ModelSpec spec, int capacity, int bodyMaxBytes) {
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
    long count = 1;
    for (int i = 0; i < shape.length; i++) {
      JsonNode d = shapeNode.get(i);
      if (!d.isIntegralNumber() || !d.canConvertToLong() || d.asLong() < 0) {
        throw bad("input '" + name + "' shape " + shapeNode + ": dimension " + i + " is not a non-negative integer");
      }
      shape[i] = d.asLong();
      try {
        count = Math.multiplyExact(count, shape[i]);
      } catch (ArithmeticException e) {
        throw bad("input '" + name + "' shape " + shapeNode + " is too large");
      }
    }
    if (count > bodyMaxBytes) {
      throw bad("input '" + name + "' shape " + shapeNode + " needs more values than a request body of at most " + bodyMaxBytes
          + " bytes can hold");
    }
    long rows = shape[0];
    if (rows < 1) {
      throw bad("input '" + name + "' shape " + shapeNode + " holds no image");
    }
    if (rows > capacity) {
      throw bad("input '" + name + "' holds " + rows + " images; one request may hold at most " + capacity);
    }
    JsonNode data = t.get("data");
    if (data == null || !data.isArray()) {
      throw bad("input '" + name + "' needs a \"data\" array");
    }
    int h = spec.height();
    int w = spec.width();
    int c = spec.channels();
    boolean nhwc = spec.layout() == ModelSpec.Layout.NHWC;
    Preprocessor pre = Preprocessor.of(spec);
    String declared = nhwc ? "[N," + h + "," + w + "," + c + "]" : "[N," + c + "," + h + "," + w + "]";
    List<InferenceBatcher.Input> out = new ArrayList<>((int) rows);
    switch (datatype) {
      case "FP32" -> {
        long[] one = spec.batchShape(1);
        boolean image = shape.length == 4 && shape[1] == one[1] && shape[2] == one[2] && shape[3] == one[3];
        boolean flat = shape.length == 2 && shape[1] == (long) c * h * w;
        if (!image && !flat) {
          throw bad("input '" + name + "' FP32 shape " + shapeNode + " does not fit the model: expected " + declared
              + " (its layout is " + spec.layout() + ") or [N," + (c * h * w) + "]");
        }
        float[] values = new float[(int) count];
        int filled = flatten(data, 0, shape.length, values, 0, name, count);
        if (filled != count) {
          throw bad("input '" + name + "' data holds " + filled + " values but shape " + shapeNode + " needs " + count);
        }
        int size = c * h * w;
        for (int r = 0; r < rows; r++) {
          float[] px = java.util.Arrays.copyOfRange(values, r * size, (r + 1) * size);
          out.add(new InferenceBatcher.Input(null, nhwc ? hwcToChw(px, c, h, w) : px));
        }
      }
      case "BYTES" -> {
        if (!(shape.length == 1 || (shape.length == 2 && shape[1] == 1))) {
          throw bad("input '" + name + "' BYTES shape " + shapeNode + " does not fit: expected [N] (or [N,1]) encoded images");
        }
        List<String> strings = new ArrayList<>();
        strings(data, 0, shape.length, strings, name, count);
        if (strings.size() != count) {
          throw bad("input '" + name + "' data holds " + strings.size() + " values but shape " + shapeNode + " needs " + count);
        }
        for (int i = 0; i < strings.size(); i++) {
          byte[] encoded = base64(strings.get(i), name, i);
          try {
            out.add(new InferenceBatcher.Input(encoded, pre.decode(encoded)));
          } catch (ImageFormatException e) {
            throw new ServingRejection(RejectReason.of(e.kind()), "input '" + name + "' element " + i + ": " + e.getMessage());
          }
        }
      }
      default -> throw bad("input '" + name + "' datatype '" + datatype + "' is not supported: send FP32 network input ("
          + spec.normalization().describe() + ") of shape " + declared + " or [N," + (c * h * w)
          + "], or BYTES [N] of base64 PNG/JPEG images");
    }
    return out;
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
      double v = e.asDouble();
      if (!(v >= 0 && v <= 1)) {
        throw bad("input '" + name + "' value " + at + " is " + e + "; pixels are grey levels in [0,1] (value/255)");
      }
      if (at >= max) {
        throw bad("input '" + name + "' data holds more values than its shape's " + max);
      }
      into[at++] = (float) v;
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
