package dev.streamtune.core.model;

/**
 * A network read from the store with its manifest. The network is not thread-safe: one owner at a time.
 *
 * @param network a {@link org.deeplearning4j.nn.multilayer.MultiLayerNetwork} or a
 *     {@link org.deeplearning4j.nn.graph.ComputationGraph}, as the manifest's spec says
 */
public record LoadedModel(Manifest manifest, Network network) {
  public String model() {
    return manifest.model();
  }

  public int version() {
    return manifest.version();
  }

  public ModelSpec spec() {
    return manifest.spec();
  }
}
