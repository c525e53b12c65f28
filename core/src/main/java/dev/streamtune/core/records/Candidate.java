package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.Objects;

/** A trained candidate on {@code candidates}, keyed by model name; the files are in the model store at {@code storeUri}. */
public record Candidate(int schema, String model, int version, String storeUri, String sha256, int parentVersion,
    TrainingSummary training, Instant timestamp) implements Versioned {
  public Candidate {
    Versioned.check(schema, "candidate");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(storeUri, "storeUri");
    Objects.requireNonNull(sha256, "sha256");
    Objects.requireNonNull(training, "training");
  }
}
