package dev.streamtune.serving.internal;

/**
 * Why a prediction request was refused: the bounded {@code reason} tag of {@code streamtune.serving.rejected} and the HTTP status
 * the request is answered with.
 */
public enum RejectReason {
  NOT_AN_IMAGE("not-an-image", 400),
  WRONG_SIZE("wrong-size", 400),
  EMPTY("empty", 400),
  BAD_PARAMETER("bad-parameter", 400),
  BAD_TENSOR("bad-tensor", 400),
  TOO_LARGE("too-large", 413),
  UNSUPPORTED_TYPE("unsupported-type", 415),
  BAD_METHOD("bad-method", 405),
  UNKNOWN_MODEL("unknown-model", 404),
  UNKNOWN_VERSION("unknown-version", 404),
  QUEUE_FULL("queue-full", 429),
  NO_MODEL("no-model", 503),
  SHUTTING_DOWN("shutting-down", 503);

  private final String tag;
  private final int status;

  RejectReason(String tag, int status) {
    this.tag = tag;
    this.status = status;
  }

  /** The reason for an image that cannot be used. */
  public static RejectReason of(dev.streamtune.core.image.ImageFormatException.Kind kind) {
    return switch (kind) {
      case WRONG_SIZE -> WRONG_SIZE;
      case EMPTY -> EMPTY;
      case NOT_AN_IMAGE -> NOT_AN_IMAGE;
      case TOO_LARGE -> TOO_LARGE;
    };
  }

  /** The metric tag value. */
  public String tag() {
    return tag;
  }

  /** The HTTP status a request refused for this reason gets. */
  public int status() {
    return status;
  }
}
