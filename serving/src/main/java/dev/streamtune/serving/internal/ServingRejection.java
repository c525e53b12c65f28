package dev.streamtune.serving.internal;

import com.sun.net.httpserver.HttpExchange;
import dev.streamtune.core.http.HttpError;
import dev.streamtune.serving.internal.ServingMetrics.Protocol;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.util.Objects;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A request that serving refuses for an expected reason; the message names the problem for the client. No stack trace. The
 * one mapping of a refusal to each transport is here: {@link #toHttpError} for HTTP, {@link #toStatus} for gRPC.
 */
public final class ServingRejection extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(ServingRejection.class);
  private final RejectReason reason;

  public ServingRejection(RejectReason reason, String message) {
    super(message, null, false, false);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public RejectReason reason() {
    return reason;
  }

  /** Counts the refusal against the serving version and logs it at debug (expected, no stack trace). */
  private void count(Protocol protocol, String what, ModelHolder models, ServingMetrics metrics) {
    OptionalInt v = models.version();
    metrics.rejected(protocol, reason, v.isPresent() ? v.getAsInt() : null);
    LOG.debug("refused {} ({}): {}", what, reason.tag(), getMessage());
  }

  /**
   * The one mapping of a refusal to HTTP for every serving route: counted, logged, {@code Retry-After} on 429/503, and the error
   * the core HTTP layer answers as JSON.
   */
  HttpError toHttpError(HttpExchange ex, ModelHolder models, ServingMetrics metrics) {
    count(Protocol.HTTP, ex.getRequestMethod() + " " + ex.getRequestURI(), models, metrics);
    if (reason.status() == 503 || reason.status() == 429) {
      ex.getResponseHeaders().set("Retry-After", "1");
    }
    return new HttpError(reason.status(), getMessage());
  }

  /**
   * The one mapping of a refusal to gRPC: counted, logged, and the status the call is closed with, its description this
   * message. The code is the gRPC counterpart of {@link RejectReason#status()}: 400 and 413 {@code INVALID_ARGUMENT}, 404
   * {@code NOT_FOUND}, 429 {@code RESOURCE_EXHAUSTED}, 503 {@code UNAVAILABLE}.
   */
  StatusRuntimeException toStatus(String method, ModelHolder models, ServingMetrics metrics) {
    count(Protocol.GRPC, method, models, metrics);
    Status code = switch (reason) {
      case UNKNOWN_MODEL, UNKNOWN_VERSION -> Status.NOT_FOUND;
      case QUEUE_FULL -> Status.RESOURCE_EXHAUSTED;
      case NO_MODEL, SHUTTING_DOWN -> Status.UNAVAILABLE;
      case BAD_METHOD -> Status.UNIMPLEMENTED;
      case NOT_AN_IMAGE, WRONG_SIZE, EMPTY, BAD_PARAMETER, BAD_TENSOR, TOO_LARGE, UNSUPPORTED_TYPE -> Status.INVALID_ARGUMENT;
    };
    return code.withDescription(getMessage()).asRuntimeException();
  }
}
