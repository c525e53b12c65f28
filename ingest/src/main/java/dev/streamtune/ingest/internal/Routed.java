package dev.streamtune.ingest.internal;

/**
 * A record after validation inside the topology: either the accepted value, or the original bytes to forward to a rejected
 * topic (the reason travels in the {@code st-reject-reason} header). Immutable.
 */
public record Routed<T>(boolean accepted, T value, byte[] original) {
  public static <T> Routed<T> accept(T value) {
    return new Routed<>(true, value, null);
  }

  public static <T> Routed<T> reject(byte[] original) {
    return new Routed<>(false, null, original);
  }
}
