package dev.streamtune.standalone.imports;

import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.ModelStore;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Normalization;
import dev.streamtune.core.model.Provenance;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Brings a user's pretrained network into the model store as a version StreamTune can serve and fine-tune: a DL4J zip, a Keras
 * {@code .h5} ({@link KerasSource}) or a DL4J zoo network ({@link ZooSource}). Reads the label file, works out the input shape
 * and layout, gives the network a trainable output head for the labels ({@link Heads}), picks the embedding layer and the
 * freeze boundaries ({@link Boundaries}), checks one forward pass, and stores it with its spec and provenance.
 */
public final class ModelImporter {
  /**
   * What to import.
   *
   * @param source a DL4J zip, a Keras {@code .h5}/{@code .hdf5}/{@code .keras} file, or {@code zoo:NAME}
   * @param labelsFile one label per line (blank lines and {@code #} comments skipped), index = output unit
   * @param inputShape {@code [C,H,W]}, or null to take it from the source
   * @param freezeBoundary the last frozen layer for fine-tuning, or null for the embedding layer (head only)
   * @param embeddingLayer the layer whose output is the embedding, or null for the layer that feeds the top
   * @param replaceHead a fresh output head over the embedding instead of keeping (or converting) the source's top
   */
  public record Request(Path store, String model, String source, Path labelsFile, List<Integer> inputShape,
      Normalization normalization, ModelSpec.Resize resize, String freezeBoundary, String embeddingLayer, boolean replaceHead,
      long seed) {
    public Request {
      Objects.requireNonNull(store, "store");
      Objects.requireNonNull(source, "source");
      Objects.requireNonNull(labelsFile, "labelsFile");
      ModelStore.checkName(model);
      normalization = normalization == null ? Normalization.UNIT : normalization;
      resize = resize == null ? ModelSpec.Resize.NONE : resize;
      if (inputShape != null && (inputShape.size() != 3 || inputShape.stream().anyMatch(v -> v < 1))) {
        throw new IllegalArgumentException("--input-shape is C,H,W with positive numbers, was " + inputShape);
      }
    }
  }

  /** A network read from a source, before StreamTune's changes. */
  record Loaded(Network network, List<Integer> inputShape, String format, String sourceSha256, String note) {}

  private ModelImporter() {}

  /**
   * Imports and stores the next version of the model.
   *
   * @throws IllegalArgumentException naming the problem: an unreadable or unsupported source, a label file that does not fit the
   *     top (both numbers), an unknown layer (with the names), an input shape the network refuses
   * @throws IllegalStateException when a zoo network's weights cannot be downloaded (the URL and how to give a local file)
   */
  public static Manifest run(Request r, Consumer<String> progress) {
    List<String> labels = readLabels(r.labelsFile());
    Loaded loaded = load(r, progress);
    List<Integer> shape = r.inputShape() != null ? r.inputShape() : loaded.inputShape();
    if (shape == null) {
      throw new IllegalArgumentException("cannot tell the input size of " + r.source() + " from the file: pass --input-shape C,H,W");
    }
    if (shape.get(0) != 1 && shape.get(0) != 3) {
      throw new IllegalArgumentException("input shape " + shape + ": StreamTune feeds 1 (grey) or 3 (RGB) channels");
    }
    Network source = loaded.network();
    ModelSpec.Layout layout = Heads.layout(source);
    progress.accept(String.format("read %s: %s, %d layers, %,d parameters, input %s %s", r.source(), source.type().id(),
        source.layerNames().size(), source.numParams(), shape, layout));

    Heads.Result head = Heads.fit(source, labels.size(), r.replaceHead(), r.embeddingLayer(), r.seed());
    Network net = head.network();
    progress.accept(head.description());
    String embedding = head.embedding();
    List<String> names = net.layerNames();
    List<String> boundaries = Boundaries.candidates(net, embedding);
    String freeze = r.freezeBoundary() == null ? embedding : net.requireLayer(r.freezeBoundary(), "freeze boundary");
    ModelSpec spec = new ModelSpec(shape, null, labels, names, freeze, net.type(), layout, r.normalization(), r.resize(),
        embedding, boundaries);

    INDArray out;
    try {
      out = net.output(Preprocessor.of(spec).batch(List.of(new float[spec.imageSize()], new float[spec.imageSize()])));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException("the network refuses a batch of " + java.util.Arrays.toString(spec.batchShape(2))
          + " (" + layout + " of input shape " + shape + "): " + e.getMessage() + "; check --input-shape", e);
    }
    if (out.rank() != 2 || out.size(1) != labels.size()) {
      throw new IllegalArgumentException("the imported network answers " + java.util.Arrays.toString(out.shape()) + " for 2 images, "
          + "expected [2, " + labels.size() + "] for the label file");
    }
    DirectoryModelStore store = new DirectoryModelStore(r.store());
    Provenance provenance = new Provenance(loaded.format(), r.source(), loaded.sourceSha256(),
        loaded.note() + "; " + head.description());
    Manifest m = store.save(r.model(), net.model(), spec, null, null, Map.of(), provenance);
    progress.accept(String.format("stored %s v%d in %s: %d labels, embedding '%s', freeze boundary '%s', boundaries %s, %s",
        m.model(), m.version(), store.root(), labels.size(), embedding, freeze, boundaries, spec.preprocessing()));
    return m;
  }

  static Loaded load(Request r, Consumer<String> progress) {
    String source = r.source();
    if (source.startsWith("zoo:")) {
      return ZooSource.load(source.substring("zoo:".length()), progress);
    }
    Path file = Path.of(source);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException("no such file: " + source);
    }
    String sha = sha256(file);
    String lower = file.getFileName().toString().toLowerCase(java.util.Locale.ROOT);
    if (lower.endsWith(".h5") || lower.endsWith(".hdf5") || lower.endsWith(".keras")) {
      return KerasSource.load(file, sha);
    }
    try {
      Network net = Network.restore(file.toFile(), false);
      // a DL4J zip does not record the input size of a convolutional network: --input-shape says it
      return new Loaded(net, null, "dl4j-zip", sha, "DL4J " + net.type().id() + " zip");
    } catch (IOException | RuntimeException e) {
      throw new IllegalArgumentException(source + " is neither a DL4J zip (ModelSerializer) nor a Keras .h5: " + e.getMessage(),
          e);
    }
  }

  /** The labels of a label file, in order; refuses an empty file and duplicate names. */
  static List<String> readLabels(Path file) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalArgumentException("cannot read the label file " + file + ": " + e.getMessage(), e);
    }
    List<String> labels = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (String line : lines) {
      String l = line.strip();
      if (l.isEmpty() || l.startsWith("#")) {
        continue;
      }
      if (!seen.add(l)) {
        throw new IllegalArgumentException("label file " + file + " names '" + l + "' twice");
      }
      labels.add(l);
    }
    if (labels.isEmpty()) {
      throw new IllegalArgumentException("label file " + file + " holds no label (one per line)");
    }
    return labels;
  }

  static String sha256(Path file) {
    try {
      return DirectoryModelStore.sha256(file);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + file, e);
    }
  }
}
