package dev.streamtune.core.model;

import dev.streamtune.core.records.TrainingSummary;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/**
 * Versioned models: {@code <model>/<version>/model.zip} and {@code manifest.json}. A version appears whole or not at all.
 * Implementations are thread-safe.
 */
public interface ModelStore {
  /** The stored versions of a model, ascending; empty when none. */
  List<Integer> versions(String model);

  /** The manifest of a version, if it exists. */
  Optional<Manifest> manifest(String model, int version);

  /** The lowest stored version: the base model that serves when nothing was promoted. */
  default Optional<Manifest> base(String model) {
    List<Integer> v = versions(model);
    return v.isEmpty() ? Optional.empty() : manifest(model, v.get(0));
  }

  /** The newest stored version. */
  default Optional<Manifest> latest(String model) {
    List<Integer> v = versions(model);
    return v.isEmpty() ? Optional.empty() : manifest(model, v.get(v.size() - 1));
  }

  /**
   * Saves a network as the next version (one more than the highest stored), written under a temporary name and renamed into
   * place.
   */
  Manifest save(String model, MultiLayerNetwork network, ModelSpec spec, Integer parent, TrainingSummary training,
      Map<String, Double> evaluation);

  /**
   * Loads a version after checking {@code model.zip} against the manifest's sha256 and, when not null, {@code expectedSha256}.
   *
   * @throws ModelVerificationException when missing, unreadable or not matching
   */
  LoadedModel load(String model, int version, String expectedSha256);

  /** Where a version lives, for records. */
  String uri(String model, int version);
}
