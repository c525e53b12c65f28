package dev.streamtune.trainer;

/**
 * Cached frozen activations failed their checksum: the disk under the cache cannot be trusted, so a retrain that met them stops
 * without a candidate. The corrupt files were already deleted and their entries recomputed from the backbone, so the next
 * retrain finds them whole.
 */
public final class CorruptFeatureCacheException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public CorruptFeatureCacheException(String message) {
    super(message);
  }
}
