package dev.streamtune.serving.internal;

import com.google.protobuf.ByteString;
import dev.streamtune.core.model.ModelSpec;
import inference.OpenInferenceGrpc.InferParameter;
import inference.OpenInferenceGrpc.InferTensorContents;
import inference.OpenInferenceGrpc.ModelInferRequest;
import inference.OpenInferenceGrpc.ModelInferRequest.InferInputTensor;
import inference.OpenInferenceGrpc.ModelInferRequest.InferRequestedOutputTensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a gRPC {@code ModelInferRequest} into an {@link OpenInferenceRequest}, through the same checks as the REST binding's
 * JSON ({@link OpenInferenceRequest#header}, {@link OpenInferenceRequest#fp32}, {@link OpenInferenceRequest#bytes}, ...), so a
 * request is refused over gRPC exactly when its JSON twin is refused over REST. What only gRPC has is checked here: the data
 * of the one input either in {@code raw_input_contents} (FP32: little-endian 4-byte floats; BYTES: each element a 4-byte
 * little-endian length and that many bytes, as Triton's clients send) or in the typed {@code contents} field of its datatype
 * ({@code fp32_contents}, {@code bytes_contents} holding the encoded images themselves, no base64), never both. Pure.
 */
final class GrpcInferRequests {
  private GrpcInferRequests() {}

  /**
   * Validates the whole request and decodes its images for {@code spec}.
   *
   * @throws ServingRejection naming the problem
   */
  static OpenInferenceRequest parse(ModelInferRequest r, ModelSpec spec, int defaultTopK, int capacity, int maxValues) {
    String id = OpenInferenceRequest.id(r.getId());
    if (r.getInputsCount() != 1) {
      throw OpenInferenceRequest.notOneInput("inputs", spec);
    }
    int topK = defaultTopK;
    List<String> outputs = OpenInferenceRequest.ALL_OUTPUTS;
    if (r.getOutputsCount() > 0) {
      List<String> names = new ArrayList<>();
      for (InferRequestedOutputTensor o : r.getOutputsList()) {
        OpenInferenceRequest.output(o.getName().isEmpty() ? null : o.getName(), "without a name", names);
        InferParameter k = o.getParametersMap().get("classification");
        if (k != null) {
          topK = OpenInferenceRequest.classification(integer(k), k.toString().trim());
        }
      }
      outputs = List.copyOf(names);
    }
    InferInputTensor t = r.getInputs(0);
    long[] shape = t.getShapeList().stream().mapToLong(Long::longValue).toArray();
    OpenInferenceRequest.Header h = OpenInferenceRequest.header(t.getName(), t.getDatatype(), shape, spec, capacity, maxValues);
    boolean raw = r.getRawInputContentsCount() > 0;
    if (raw && r.getRawInputContentsCount() != 1) {
      throw OpenInferenceRequest.bad("raw_input_contents holds " + r.getRawInputContentsCount()
          + " entries; it needs one per input, 1");
    }
    if (raw && t.hasContents()) {
      throw OpenInferenceRequest.bad("input '" + h.name() + "' has both contents and raw_input_contents; send one");
    }
    InferTensorContents c = t.getContents();
    if (h.datatype().equals("FP32")) {
      if (raw) {
        return new OpenInferenceRequest(id, OpenInferenceRequest.raw(h, r.getRawInputContents(0).asReadOnlyByteBuffer(), spec,
            "raw_input_contents"), outputs, topK);
      }
      onlyTyped(h, c, c.getFp32ContentsCount(), "fp32_contents");
      float[] values = new float[h.count()];
      int n = c.getFp32ContentsCount();
      for (int i = 0; i < Math.min(n, values.length); i++) {
        values[i] = c.getFp32Contents(i);
      }
      return new OpenInferenceRequest(id, OpenInferenceRequest.fp32(h, values, n, spec), outputs, topK);
    }
    if (raw) {
      return new OpenInferenceRequest(id, OpenInferenceRequest.raw(h, r.getRawInputContents(0).asReadOnlyByteBuffer(), spec,
          "raw_input_contents"), outputs, topK);
    }
    onlyTyped(h, c, c.getBytesContentsCount(), "bytes_contents");
    List<byte[]> encoded = c.getBytesContentsList().stream().map(ByteString::toByteArray).toList();
    return new OpenInferenceRequest(id, OpenInferenceRequest.bytes(h, encoded, spec), outputs, topK);
  }

  /** An int64 or uint64 parameter's value, or null for another kind (a string, a double, a bool). */
  private static Long integer(InferParameter p) {
    return switch (p.getParameterChoiceCase()) {
      case INT64_PARAM -> p.getInt64Param();
      case UINT64_PARAM -> p.getUint64Param() < 0 ? Long.MAX_VALUE : p.getUint64Param();
      default -> null;
    };
  }

  /** The typed contents hold only the field of the input's datatype ({@code expected} values there). */
  private static void onlyTyped(OpenInferenceRequest.Header h, InferTensorContents c, int expected, String field) {
    int all = c.getBoolContentsCount() + c.getIntContentsCount() + c.getInt64ContentsCount() + c.getUintContentsCount()
        + c.getUint64ContentsCount() + c.getFp32ContentsCount() + c.getFp64ContentsCount() + c.getBytesContentsCount();
    if (all != expected) {
      throw OpenInferenceRequest.bad("input '" + h.name() + "' is " + h.datatype() + " but its contents hold other fields than "
          + field + "; send its data in " + field + " or in raw_input_contents");
    }
  }
}
