package dev.streamtune.core.model;

import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.records.TrainingSummary;
import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * {@code manifest.json} of a stored version: provenance (parent, training summary), the checksum of {@code model.zip}, the spec
 * and any evaluation results.
 *
 * @param parent the version it was fine-tuned from, null for a base model
 * @param provenance where an imported network came from; null for versions trained here (and manifests written before it)
 */
public record Manifest(int schema, String model, int version, Integer parent, Instant created, String sha256, ModelSpec spec,
    TrainingSummary training, Map<String, Double> evaluation, Provenance provenance) implements Versioned {
  public Manifest {
    Versioned.check(schema, "manifest");
    Objects.requireNonNull(model, "model");
    if (version < 1) {
      throw new IllegalArgumentException("version must be >= 1, was " + version);
    }
    Objects.requireNonNull(created, "created");
    Objects.requireNonNull(spec, "spec");
    evaluation = evaluation == null ? Map.of() : Map.copyOf(evaluation);
  }

  /** A manifest of a version trained here (no import provenance). */
  public Manifest(int schema, String model, int version, Integer parent, Instant created, String sha256, ModelSpec spec,
      TrainingSummary training, Map<String, Double> evaluation) {
    this(schema, model, version, parent, created, sha256, spec, training, evaluation, null);
  }
}
