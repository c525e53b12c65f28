package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.Objects;

/** The version a model is served at, on the compacted {@code promotions} topic keyed by model name. A rollback is a promotion too. */
public record Promotion(int schema, String model, int version, String storeUri, String sha256, String reason, Instant timestamp)
    implements Versioned {
  public Promotion {
    Versioned.check(schema, "promotion");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(storeUri, "storeUri");
    Objects.requireNonNull(sha256, "sha256");
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(timestamp, "timestamp");
  }
}
