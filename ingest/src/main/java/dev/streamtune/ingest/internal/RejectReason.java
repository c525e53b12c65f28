package dev.streamtune.ingest.internal;

/** Why a record was rejected, as a bounded metric tag ({@code reason}). Implemented by each validator's enum. */
public interface RejectReason {
  /** The metric tag value, e.g. {@code wrong-size}. */
  String tag();
}
