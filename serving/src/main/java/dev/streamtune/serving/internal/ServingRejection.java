package dev.streamtune.serving.internal;

import java.util.Objects;

/** A request that serving refuses for an expected reason; the message names the problem for the client. No stack trace. */
public final class ServingRejection extends RuntimeException {
  private static final long serialVersionUID = 1L;
  private final RejectReason reason;

  public ServingRejection(RejectReason reason, String message) {
    super(message, null, false, false);
    this.reason = Objects.requireNonNull(reason, "reason");
  }

  public RejectReason reason() {
    return reason;
  }
}
