package dev.streamtune.serving.internal;

import com.google.protobuf.ByteString;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.serving.internal.ServingMetrics.Protocol;
import inference.GRPCInferenceServiceGrpc;
import inference.OpenInferenceGrpc.InferParameter;
import inference.OpenInferenceGrpc.InferTensorContents;
import inference.OpenInferenceGrpc.ModelInferRequest;
import inference.OpenInferenceGrpc.ModelInferResponse;
import inference.OpenInferenceGrpc.ModelInferResponse.InferOutputTensor;
import inference.OpenInferenceGrpc.ModelMetadataRequest;
import inference.OpenInferenceGrpc.ModelMetadataResponse;
import inference.OpenInferenceGrpc.ModelReadyRequest;
import inference.OpenInferenceGrpc.ModelReadyResponse;
import inference.OpenInferenceGrpc.ServerLiveRequest;
import inference.OpenInferenceGrpc.ServerLiveResponse;
import inference.OpenInferenceGrpc.ServerMetadataRequest;
import inference.OpenInferenceGrpc.ServerMetadataResponse;
import inference.OpenInferenceGrpc.ServerReadyRequest;
import inference.OpenInferenceGrpc.ServerReadyResponse;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The Open Inference Protocol (KServe V2) over gRPC: {@code inference.GRPCInferenceService} as the protocol's published
 * {@code open_inference_grpc.proto} defines it, answered by the same {@link OpenInference} as the REST binding, so both accept
 * the same tensors, answer the same outputs and version, share the micro-batcher, the limits, the metrics (tagged
 * {@code protocol=grpc}) and publish the same prediction and input events.
 *
 * <ul>
 *   <li>{@code ServerLive}: true; {@code ServerReady}: true once a warm model serves
 *   <li>{@code ServerMetadata}: name {@code streamtune}, the build's version, the extensions (as REST's)
 *   <li>{@code ModelReady}: true for the serving version or a loaded one it names, false while none is loaded;
 *       {@code NOT_FOUND} for another model or a version not loaded
 *   <li>{@code ModelMetadata}: as REST's, its {@code parameters} in {@code properties} ({@code labels} as a JSON array)
 *   <li>{@code ModelInfer}: one input, {@code input} FP32 {@code [N,C,H,W]}/{@code [N,C*H*W]} or {@code image} BYTES {@code [N]}
 *       of PNG/JPEG, in {@code raw_input_contents} or typed {@code contents}; the outputs {@code probabilities} and
 *       {@code labels} ({@code classification} as an int64 output parameter), answered in raw form when the request was raw
 *       (FP32 little-endian; BYTES length-prefixed) and in typed contents otherwise; the prediction ids, one per image, in the
 *       response parameter {@code prediction_ids}, comma-separated, and {@code latency_ms}
 * </ul>
 *
 * <p>Refusals are {@link ServingRejection#toStatus}'s: {@code INVALID_ARGUMENT} (REST's 400/413), {@code NOT_FOUND} (404),
 * {@code RESOURCE_EXHAUSTED} (429, queue full), {@code UNAVAILABLE} (503: no model yet, shutting down); an inference failure is
 * {@code INTERNAL}, an answer not given in time {@code UNAVAILABLE}. Thread-safe.
 */
public final class GrpcInferenceService extends GRPCInferenceServiceGrpc.GRPCInferenceServiceImplBase {
  private final OpenInference protocol;
  private final ModelHolder models;
  private final ServingMetrics metrics;

  public GrpcInferenceService(OpenInference protocol, ModelHolder models, ServingMetrics metrics) {
    this.protocol = Objects.requireNonNull(protocol, "protocol");
    this.models = Objects.requireNonNull(models, "models");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  @Override
  public void serverLive(ServerLiveRequest request, StreamObserver<ServerLiveResponse> out) {
    answer("ServerLive", out, () -> ServerLiveResponse.newBuilder().setLive(true).build());
  }

  @Override
  public void serverReady(ServerReadyRequest request, StreamObserver<ServerReadyResponse> out) {
    answer("ServerReady", out, () -> ServerReadyResponse.newBuilder().setReady(protocol.ready()).build());
  }

  @Override
  public void serverMetadata(ServerMetadataRequest request, StreamObserver<ServerMetadataResponse> out) {
    answer("ServerMetadata", out, () -> {
      OpenInference.ServerMetadata m = protocol.server();
      return ServerMetadataResponse.newBuilder().setName(m.name()).setVersion(m.version()).addAllExtensions(m.extensions())
          .build();
    });
  }

  @Override
  public void modelReady(ModelReadyRequest request, StreamObserver<ModelReadyResponse> out) {
    answer("ModelReady", out, () -> {
      try {
        protocol.resolve(request.getName(), request.getVersion());
        return ModelReadyResponse.newBuilder().setReady(true).build();
      } catch (ServingRejection e) {
        if (e.reason() == RejectReason.NO_MODEL) {
          // the question has an answer: not ready yet (REST says so with a 503)
          return ModelReadyResponse.newBuilder().setReady(false).build();
        }
        throw e;
      }
    });
  }

  @Override
  public void modelMetadata(ModelMetadataRequest request, StreamObserver<ModelMetadataResponse> out) {
    answer("ModelMetadata", out, () -> {
      OpenInference.ModelMetadata m = protocol.metadata(protocol.resolve(request.getName(), request.getVersion()));
      ModelMetadataResponse.Builder b = ModelMetadataResponse.newBuilder().setName(m.name()).addAllVersions(m.versions())
          .setPlatform(m.platform());
      m.inputs().forEach(t -> b.addInputs(tensor(t)));
      m.outputs().forEach(t -> b.addOutputs(tensor(t)));
      for (Map.Entry<String, Object> p : m.parameters().entrySet()) {
        b.putProperties(p.getKey(), p.getValue() instanceof String s ? s : Json.MAPPER.valueToTree(p.getValue()).toString());
      }
      return b.build();
    });
  }

  private static ModelMetadataResponse.TensorMetadata tensor(OpenInference.TensorMetadata t) {
    return ModelMetadataResponse.TensorMetadata.newBuilder().setName(t.name()).setDatatype(t.datatype()).addAllShape(t.shape())
        .build();
  }

  @Override
  public void modelInfer(ModelInferRequest request, StreamObserver<ModelInferResponse> out) {
    long t0 = System.nanoTime();
    OpenInference.Answered[] answered = new OpenInference.Answered[1];
    boolean ok = answer("ModelInfer", out, () -> {
      LoadedModel model = protocol.resolve(request.getModelName(), request.getModelVersion());
      OpenInferenceRequest req = GrpcInferRequests.parse(request, model.spec(), protocol.defaultTopK(), protocol.capacity(),
          protocol.maxValues());
      OpenInference.Answered a = protocol.infer(model, req, t0, Protocol.GRPC);
      answered[0] = a;
      return response(a, request.getRawInputContentsCount() > 0);
    });
    if (ok) {
      protocol.publish(answered[0]);
    }
  }

  private static ModelInferResponse response(OpenInference.Answered a, boolean raw) {
    ModelInferResponse.Builder b = ModelInferResponse.newBuilder().setModelName(a.model().model())
        .setModelVersion(Integer.toString(a.model().version())).setId(a.id())
        .putParameters("prediction_ids", InferParameter.newBuilder().setStringParam(String.join(",", a.predictionIds())).build())
        .putParameters("latency_ms", InferParameter.newBuilder().setDoubleParam(a.latencyMs()).build());
    for (String name : a.outputs()) {
      boolean probabilities = name.equals(OpenInference.PROBABILITIES);
      InferOutputTensor.Builder t = InferOutputTensor.newBuilder().setName(name)
          .setDatatype(probabilities ? "FP32" : "BYTES").addShape(a.rows()).addShape(probabilities ? a.classes() : a.k());
      if (raw) {
        b.addRawOutputContents(probabilities ? rawFloats(a.probabilities()) : rawStrings(a.labels()));
      } else {
        InferTensorContents.Builder c = InferTensorContents.newBuilder();
        if (probabilities) {
          for (float p : a.probabilities()) {
            c.addFp32Contents(p);
          }
        } else {
          a.labels().forEach(l -> c.addBytesContents(ByteString.copyFromUtf8(l)));
        }
        t.setContents(c);
      }
      b.addOutputs(t);
    }
    return b.build();
  }

  private static ByteString rawFloats(float[] values) {
    ByteBuffer buf = ByteBuffer.allocate(4 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    buf.asFloatBuffer().put(values);
    return ByteString.copyFrom(buf.array());
  }

  /** BYTES in raw form: each element a 4-byte little-endian length, then its UTF-8 bytes. */
  private static ByteString rawStrings(List<String> values) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (String v : values) {
      byte[] bytes = v.getBytes(StandardCharsets.UTF_8);
      out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(bytes.length).array());
      out.writeBytes(bytes);
    }
    return ByteString.copyFrom(out.toByteArray());
  }

  /**
   * Answers a call with what {@code body} returns, or closes it with the status its refusal or failure maps to.
   *
   * @return true when it was answered
   */
  private <T> boolean answer(String method, StreamObserver<T> out, Supplier<T> body) {
    T response;
    try {
      response = body.get();
    } catch (ServingRejection e) {
      out.onError(e.toStatus(method, models, metrics));
      return false;
    } catch (OpenInference.InferenceFailure e) {
      out.onError((e.timedOut() ? Status.UNAVAILABLE : Status.INTERNAL).withDescription(e.getMessage()).asRuntimeException());
      return false;
    }
    out.onNext(response);
    out.onCompleted();
    return true;
  }
}
