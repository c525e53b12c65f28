package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.Objects;

/**
 * The version a model is served at, on the compacted {@code promotions} topic keyed by model name. A rollback is a promotion too.
 * {@code driftAt}: when the drift this promotion answers was detected (a gate promotion of a candidate that answered one), so
 * each serving node can measure the time to adapt up to its swap; null otherwise and in records written before the field.
 */
public record Promotion(int schema, String model, int version, String storeUri, String sha256, String reason, Instant timestamp,
    Instant driftAt) implements Versioned {
  public Promotion {
    Versioned.check(schema, "promotion");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(storeUri, "storeUri");
    Objects.requireNonNull(sha256, "sha256");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(timestamp, "timestamp");
  }

  /** A promotion that answers no drift signal (manual, rollback). */
  public Promotion(int schema, String model, int version, String storeUri, String sha256, String reason, Instant timestamp) {
    this(schema, model, version, storeUri, sha256, reason, timestamp, null);
  }
}
