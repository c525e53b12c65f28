package dev.streamtune.core.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonIgnore;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * What a stored network takes and answers, so that no module assumes a size, a channel count, a layer name or a network class.
 *
 * <p>Old manifests (written before the fields after {@code freezeBoundary} existed) read with today's defaults: a
 * {@code multi-layer} network, {@code NCHW}, pixels scaled to [0,1], resize {@code none}, the embedding at the layer below the
 * top, and the CNN's boundaries when the layers are the CNN's.
 *
 * @param inputShape {@code [channels, height, width]} of one image, channels 1 (grey) or 3 (RGB)
 * @param preprocessing a person's description of the preprocessing (derived from the typed fields when absent)
 * @param labels the label set; index = output unit
 * @param layers layer (or graph vertex) names, bottom to top
 * @param freezeBoundary the last frozen layer for fine-tuning: everything up to and including it stays fixed
 * @param network the DL4J class the zip holds
 * @param layout the tensor layout the network takes: {@code [N,C,H,W]} or {@code [N,H,W,C]} (Keras imports)
 * @param normalization how [0,255] pixels become network input
 * @param resize what happens to an image of another size
 * @param embeddingLayer the layer whose output is the image's embedding (feature drift, cached features)
 * @param boundaries the freeze boundaries a fine-tune may pick among, top first (head only → dense top → deeper)
 */
public record ModelSpec(List<Integer> inputShape, String preprocessing, List<String> labels, List<String> layers,
    String freezeBoundary, NetworkType network, Layout layout, Normalization normalization, Resize resize,
    String embeddingLayer, List<String> boundaries) {

  /** The DL4J class of a stored network. */
  public enum NetworkType {
    MULTI_LAYER("multi-layer"), GRAPH("graph");

    private final String id;

    NetworkType(String id) {
      this.id = id;
    }

    @JsonValue
    public String id() {
      return id;
    }

    @JsonCreator
    public static NetworkType of(String id) {
      return Enums.parse(NetworkType.class, id, "network");
    }
  }

  /** The order of a batch's axes. */
  public enum Layout {
    NCHW, NHWC;

    @JsonCreator
    public static Layout of(String id) {
      return Enums.parse(Layout.class, id, "layout");
    }
  }

  /** What happens to an input image whose size is not the network's. */
  public enum Resize {
    /** Refuse it, naming both sizes. */
    NONE("none"),
    /** Scale both sides to the network's size (bilinear), ignoring the aspect ratio. */
    STRETCH("stretch"),
    /** Scale the short side to the network's (bilinear, keeping the aspect ratio), then cut the centre. */
    CENTER_CROP("center-crop");

    private final String id;

    Resize(String id) {
      this.id = id;
    }

    @JsonValue
    public String id() {
      return id;
    }

    @JsonCreator
    public static Resize of(String id) {
      return Enums.parse(Resize.class, id, "resize");
    }
  }

  public ModelSpec {
    inputShape = List.copyOf(inputShape);
    labels = List.copyOf(labels);
    layers = List.copyOf(layers);
    if (inputShape.size() != 3) {
      throw new IllegalArgumentException("inputShape is [channels, height, width], was " + inputShape);
    }
    if (inputShape.get(0) != 1 && inputShape.get(0) != 3) {
      throw new IllegalArgumentException("channels must be 1 (grey) or 3 (RGB), was " + inputShape.get(0));
    }
    if (inputShape.get(1) < 1 || inputShape.get(2) < 1) {
      throw new IllegalArgumentException("height and width must be >= 1, were " + inputShape.subList(1, 3));
    }
    if (labels.isEmpty()) {
      throw new IllegalArgumentException("labels must not be empty");
    }
    network = network == null ? NetworkType.MULTI_LAYER : network;
    layout = layout == null ? Layout.NCHW : layout;
    normalization = normalization == null ? Normalization.UNIT : normalization;
    normalization.check(inputShape.get(0));
    resize = resize == null ? Resize.NONE : resize;
    if (embeddingLayer == null && layers.size() >= 2) {
      embeddingLayer = layers.get(layers.size() - 2);
    }
    if (embeddingLayer != null && !layers.isEmpty() && !layers.contains(embeddingLayer)) {
      throw new IllegalArgumentException("embedding layer '" + embeddingLayer + "' is not one of the layers " + layers);
    }
    if (boundaries == null) {
      boundaries = layers.equals(Networks.LAYERS) ? Networks.BOUNDARIES
          : embeddingLayer == null ? List.of() : List.of(embeddingLayer);
    }
    boundaries = List.copyOf(boundaries);
    for (String b : boundaries) {
      if (!layers.contains(b)) {
        throw new IllegalArgumentException("boundary '" + b + "' is not one of the layers " + layers);
      }
    }
    if (freezeBoundary != null && !freezeBoundary.equals("none") && !layers.contains(freezeBoundary)) {
      throw new IllegalArgumentException("freeze boundary '" + freezeBoundary + "' is not one of the layers " + layers);
    }
    if (preprocessing == null || preprocessing.isBlank()) {
      preprocessing = describe(inputShape.get(0), layout, normalization, resize);
    }
  }

  /** A spec with today's defaults for the fields that came later: a grey or RGB multi-layer NCHW network on [0,1] pixels. */
  public ModelSpec(List<Integer> inputShape, String preprocessing, List<String> labels, List<String> layers,
      String freezeBoundary) {
    this(inputShape, preprocessing, labels, layers, freezeBoundary, null, null, null, null, null, null);
  }

  /** A person's description of a preprocessing. */
  public static String describe(int channels, Layout layout, Normalization normalization, Resize resize) {
    return "decode, " + (channels == 1 ? "grey = luma(RGB)" : "RGB (grey replicated)") + ", resize " + resize.id() + ", "
        + normalization.describe() + ", " + layout + (layout == Layout.NCHW ? " [N," + channels + ",H,W]" : " [N,H,W," + channels
        + "]");
  }

  /** The same spec with another label set (a grown head). */
  public ModelSpec withLabels(List<String> newLabels) {
    return new ModelSpec(inputShape, preprocessing, newLabels, layers, freezeBoundary, network, layout, normalization, resize,
        embeddingLayer, boundaries);
  }

  /** The same spec for another network class. */
  public ModelSpec withNetwork(NetworkType type) {
    return type == network ? this : new ModelSpec(inputShape, preprocessing, labels, layers, freezeBoundary, type, layout,
        normalization, resize, embeddingLayer, boundaries);
  }

  /** The same spec with another freeze boundary. */
  public ModelSpec withFreezeBoundary(String boundary) {
    return new ModelSpec(inputShape, preprocessing, labels, layers, boundary, network, layout, normalization, resize,
        embeddingLayer, boundaries);
  }

  @JsonIgnore
  public int channels() {
    return inputShape.get(0);
  }

  @JsonIgnore
  public int height() {
    return inputShape.get(1);
  }

  @JsonIgnore
  public int width() {
    return inputShape.get(2);
  }

  /** Values in one image's tensor: channels × height × width. */
  @JsonIgnore
  public int imageSize() {
    return channels() * height() * width();
  }

  /**
   * What decoding an image for this spec depends on: two specs with equal formats turn an image into the same values (the
   * layout only changes how a batch is stacked).
   */
  public record InputFormat(int channels, int height, int width, Normalization normalization, Resize resize) {}

  /** See {@link InputFormat}. */
  public InputFormat inputFormat() {
    return new InputFormat(channels(), height(), width(), normalization, resize);
  }

  /** The shape of a batch of {@code n} as the network takes it, in its layout. */
  public long[] batchShape(long n) {
    return layout == Layout.NCHW ? new long[] {n, channels(), height(), width()} : new long[] {n, height(), width(), channels()};
  }

  /** The index of a label, or -1. */
  public int labelIndex(String label) {
    return labels.indexOf(label);
  }

  /** Lowercase enum names with dashes, parsed with an error that lists the choices. */
  static final class Enums {
    private Enums() {}

    static <E extends Enum<E>> E parse(Class<E> type, String id, String what) {
      List<String> ids = new ArrayList<>();
      for (E e : type.getEnumConstants()) {
        String eid = e.toString();
        try {
          eid = String.valueOf(type.getMethod("id").invoke(e));
        } catch (ReflectiveOperationException ignored) {
          // enums without an id() are named by their constant
        }
        if (eid.equalsIgnoreCase(Objects.requireNonNull(id, what).trim()) || e.name().equalsIgnoreCase(id.trim())) {
          return e;
        }
        ids.add(eid.toLowerCase(Locale.ROOT).equals(eid) ? eid : e.name());
      }
      throw new IllegalArgumentException("unknown " + what + " '" + id + "', expected one of " + ids);
    }
  }
}
