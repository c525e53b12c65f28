package dev.streamtune.core.model;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import java.util.List;
import java.util.Locale;

/**
 * How decoded pixels (0..255 per channel, RGB order) become network input.
 *
 * <ul>
 *   <li>{@code unit}: {@code x / 255}, in [0,1] (StreamTune's own networks);
 *   <li>{@code mean-std}: {@code (x / 255 - mean[c]) / std[c]}, e.g. ImageNet's mean (0.485, 0.456, 0.406) and std (0.229,
 *       0.224, 0.225) as torchvision and Keras' "torch" mode use;
 *   <li>{@code vgg-mean}: {@code x - mean[c]} on the 0..255 scale with the VGG/ImageNet RGB means (123.68, 116.779, 103.939), as
 *       DL4J's {@code VGG16ImagePreProcessor} does for its zoo weights.
 * </ul>
 *
 * @param kind which of the three
 * @param mean per channel (mean-std, vgg-mean); empty for unit
 * @param std per channel (mean-std); empty otherwise
 */
public record Normalization(Kind kind, List<Double> mean, List<Double> std) {
  /** Pixels scaled to [0,1]. */
  public static final Normalization UNIT = new Normalization(Kind.UNIT, List.of(), List.of());
  /** ImageNet's per-channel mean and standard deviation on [0,1] pixels. */
  public static final Normalization IMAGENET = new Normalization(Kind.MEAN_STD, List.of(0.485, 0.456, 0.406),
      List.of(0.229, 0.224, 0.225));
  /** The VGG mean subtraction on [0,255] pixels. */
  public static final Normalization VGG = new Normalization(Kind.VGG_MEAN, List.of(123.68, 116.779, 103.939), List.of());

  /** The kinds of normalisation. */
  public enum Kind {
    UNIT("unit"), MEAN_STD("mean-std"), VGG_MEAN("vgg-mean");

    private final String id;

    Kind(String id) {
      this.id = id;
    }

    @JsonValue
    public String id() {
      return id;
    }

    @JsonCreator
    public static Kind of(String id) {
      return ModelSpec.Enums.parse(Kind.class, id, "normalization");
    }
  }

  public Normalization {
    kind = kind == null ? Kind.UNIT : kind;
    mean = mean == null ? List.of() : List.copyOf(mean);
    std = std == null ? List.of() : List.copyOf(std);
    if (kind == Kind.MEAN_STD && (mean.isEmpty() || mean.size() != std.size())) {
      throw new IllegalArgumentException("mean-std needs a mean and a std per channel, got mean " + mean + " and std " + std);
    }
    if (kind == Kind.VGG_MEAN && mean.isEmpty()) {
      throw new IllegalArgumentException("vgg-mean needs a mean per channel");
    }
    for (double s : std) {
      if (!(s > 0)) {
        throw new IllegalArgumentException("std must be > 0, was " + std);
      }
    }
  }

  /**
   * Parses a command-line value: {@code unit}, {@code imagenet}, {@code vgg}, or {@code mean-std:M1,M2,M3/S1,S2,S3}.
   *
   * @throws IllegalArgumentException naming the accepted forms
   */
  public static Normalization parse(String text) {
    String t = text.trim().toLowerCase(Locale.ROOT);
    switch (t) {
      case "unit":
        return UNIT;
      case "imagenet":
        return IMAGENET;
      case "vgg":
      case "vgg-mean":
        return VGG;
      default:
        break;
    }
    if (t.startsWith("mean-std:") && t.contains("/")) {
      String[] parts = t.substring("mean-std:".length()).split("/");
      try {
        return new Normalization(Kind.MEAN_STD, numbers(parts[0]), numbers(parts[1]));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("preprocessing '" + text + "': not numbers", e);
      }
    }
    throw new IllegalArgumentException("unknown preprocessing '" + text + "', expected unit, imagenet, vgg or mean-std:M,M,M/S,S,S");
  }

  private static List<Double> numbers(String csv) {
    return java.util.Arrays.stream(csv.split(",")).map(String::trim).map(Double::parseDouble).toList();
  }

  /** Checks that the per-channel values fit a channel count. */
  void check(int channels) {
    if (kind != Kind.UNIT && mean.size() != channels) {
      throw new IllegalArgumentException(kind.id() + " has " + mean.size() + " mean values for " + channels + " channel(s)");
    }
  }

  /** The scale and offset for channel {@code c}: input = pixel255 * scale + offset. */
  public float scale(int c) {
    switch (kind) {
      case MEAN_STD:
        return (float) (1.0 / (255.0 * std.get(c)));
      case VGG_MEAN:
        return 1f;
      default:
        return 1f / 255f;
    }
  }

  /** See {@link #scale(int)}. */
  public float offset(int c) {
    switch (kind) {
      case MEAN_STD:
        return (float) (-mean.get(c) / std.get(c));
      case VGG_MEAN:
        return (float) -mean.get(c);
      default:
        return 0f;
    }
  }

  /** A person's description. */
  public String describe() {
    switch (kind) {
      case MEAN_STD:
        return "scale /255, minus mean " + mean + ", divided by std " + std;
      case VGG_MEAN:
        return "minus mean " + mean + " on [0,255]";
      default:
        return "scale /255 to [0,1]";
    }
  }
}
