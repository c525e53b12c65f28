package dev.streamtune.ingest.internal;

import java.util.Objects;

/** The outcome of validating one record: the accepted value, or a bounded reason with a human message. Immutable. */
public sealed interface Verdict<T> permits Verdict.Accepted, Verdict.Rejected {

  /** The record is good; {@code value} is what goes on. */
  record Accepted<T>(T value) implements Verdict<T> {
    public Accepted {
      Objects.requireNonNull(value, "value");
    }
  }

  /** The record is bad: {@code reason} is the metric tag, {@code message} the human reason for headers and HTTP bodies. */
  record Rejected<T>(RejectReason reason, String message) implements Verdict<T> {
    public Rejected {
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(message, "message");
    }
  }

  static <T> Verdict<T> accept(T value) {
    return new Accepted<>(value);
  }

  static <T> Verdict<T> reject(RejectReason reason, String message) {
    return new Rejected<>(reason, message);
  }
}
