package dev.streamtune.core.model;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/** A network read from the store with its manifest. The network is not thread-safe: one owner at a time. */
public record LoadedModel(Manifest manifest, MultiLayerNetwork network) {
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
