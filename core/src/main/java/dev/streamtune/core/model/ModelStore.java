package dev.streamtune.core.model;

import dev.streamtune.core.records.TrainingSummary;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.deeplearning4j.nn.api.Model;

/**
 * Versioned models: {@code <model>/<version>/model.zip} and {@code manifest.json}. A version appears whole or not at all.
 * Implementations are thread-safe.
 */
public interface ModelStore {
  /** What a model name may be: 1–100 letters, digits, '.', '_' or '-', starting with a letter or digit (never a path). */
  java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");

  /**
   * Checks a model name from a record, a flag or a setting.
   *
   * @throws IllegalArgumentException naming the value, when it is not a {@link #NAME} or holds {@code ..}
   */
  static String checkName(String model) {
    if (model == null || !NAME.matcher(model).matches() || model.contains("..")) {
      throw new IllegalArgumentException("model name '" + model + "' must be 1-100 letters, digits, '.', '_' or '-', "
          + "starting with a letter or digit");
    }
    return model;
  }

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
   * Saves a network ({@code MultiLayerNetwork} or {@code ComputationGraph}) as the next version (one more than the highest
   * stored), written under a temporary name and renamed into place. The spec's network type is set from the network.
   *
   * @throws IllegalArgumentException when the spec names layers the network does not have
   */
  default Manifest save(String model, Model network, ModelSpec spec, Integer parent, TrainingSummary training,
      Map<String, Double> evaluation) {
    return save(model, network, spec, parent, training, evaluation, null);
  }

  /** {@link #save(String, Model, ModelSpec, Integer, TrainingSummary, Map)} with the provenance of an imported network. */
  Manifest save(String model, Model network, ModelSpec spec, Integer parent, TrainingSummary training,
      Map<String, Double> evaluation, Provenance provenance);

  /**
   * Loads a version after checking {@code model.zip} against the manifest's sha256 and, when not null, {@code expectedSha256}.
   *
   * @throws ModelVerificationException when missing, unreadable or not matching
   */
  LoadedModel load(String model, int version, String expectedSha256);

  /** Where a version lives, for records. */
  String uri(String model, int version);
}
