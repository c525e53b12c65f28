package dev.streamtune.core.model;

import java.util.Objects;

/**
 * Where a stored network came from when it was not trained by StreamTune's own code: a DL4J zip, a Keras {@code .h5} or a DL4J
 * zoo model. A version fine-tuned from it has a parent instead; a built-in pretrained base has {@code built-in}.
 *
 * @param format {@code built-in}, {@code dl4j-zip}, {@code keras-h5} or {@code zoo}
 * @param source the file name or {@code zoo:NAME} as the user gave it
 * @param sourceSha256 the sha256 of the source file (of the downloaded weights for the zoo), or null
 * @param originalTop what the source's top was (layer name, class, outputs) and what became of it
 */
public record Provenance(String format, String source, String sourceSha256, String originalTop) {
  public Provenance {
    Objects.requireNonNull(format, "format");
    Objects.requireNonNull(source, "source");
  }
}
