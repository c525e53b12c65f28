package dev.streamtune.serving.internal;

import com.sun.net.httpserver.HttpExchange;
import dev.streamtune.core.http.HttpError;
import java.util.Objects;
import java.util.OptionalInt;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A request that serving refuses for an expected reason; the message names the problem for the client. No stack trace. */
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

  /**
   * The one mapping of a refusal to HTTP for every serving route: counted against the serving version, logged at debug
   * (expected, no stack trace), {@code Retry-After} on 429/503, and the error the core HTTP layer answers as JSON.
   */
  HttpError toHttpError(HttpExchange ex, ModelHolder models, ServingMetrics metrics) {
    OptionalInt v = models.version();
    metrics.rejected(reason, v.isPresent() ? v.getAsInt() : null);
    LOG.debug("refused {} {} ({}): {}", ex.getRequestMethod(), ex.getRequestURI(), reason.tag(), getMessage());
    if (reason.status() == 503 || reason.status() == 429) {
      ex.getResponseHeaders().set("Retry-After", "1");
    }
    return new HttpError(reason.status(), getMessage());
  }
}
