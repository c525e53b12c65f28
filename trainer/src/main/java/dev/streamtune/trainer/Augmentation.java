package dev.streamtune.trainer;

import dev.streamtune.core.config.ConfigException;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import java.util.Set;

/**
 * Augmented copies of the new-domain samples of a fine-tune ({@code streamtune.trainer.augment}): each operation adds one copy
 * of each new-domain sample, label kept, id {@code <id>#<op>} (so its frozen activations are cached like any sample's). Which
 * operations keep the label depends on the data, hence a setting: {@code mirror} (left to right: garments, shoes, most
 * photographed objects; not digits or text), {@code shift} (up to 2 pixels in each direction, the border repeated), {@code noise}
 * (Gaussian, sigma 0.03 of the range). A copy's randomness comes from its id, so the same sample always gets the same copy.
 * Images are channel-major {@code float[C*H*W]} as {@link dev.streamtune.core.image.Preprocessor#decode} gives them. Immutable.
 */
public record Augmentation(List<String> operations) {
  public static final String KEY = "streamtune.trainer.augment";
  public static final List<String> KNOWN = List.of("mirror", "shift", "noise");
  public static final Augmentation NONE = new Augmentation(List.of());

  public Augmentation {
    operations = List.copyOf(operations);
    for (String op : operations) {
      if (!KNOWN.contains(op)) {
        throw new IllegalArgumentException("unknown augmentation '" + op + "'; use a comma list of " + KNOWN);
      }
    }
  }

  /** Parses a comma list ({@code none} or empty: no augmentation), naming the key in a {@link ConfigException}. */
  public static Augmentation parse(String value) {
    if (value == null || value.isBlank() || value.trim().equalsIgnoreCase("none")) {
      return NONE;
    }
    Set<String> ops = new LinkedHashSet<>();
    for (String part : value.split(",", -1)) {
      String op = part.trim().toLowerCase(Locale.ROOT);
      if (!KNOWN.contains(op)) {
        throw new ConfigException(KEY, value, "unknown augmentation '" + part.trim() + "'; use none or a comma list of " + KNOWN);
      }
      if (!ops.add(op)) {
        throw new ConfigException(KEY, value, "augmentation '" + op + "' named twice");
      }
    }
    return new Augmentation(new ArrayList<>(ops));
  }

  public boolean none() {
    return operations.isEmpty();
  }

  /** As recorded in the training summary: {@code mirror,shift}, or null without augmentation. */
  public String describe() {
    return none() ? null : String.join(",", operations);
  }

  /** The training samples with {@code n} augmented copies per operation appended after the first {@code n} (the new domain). */
  public record Expanded(List<String> ids, List<float[]> images, int[] labels, int replayFrom) {}

  /**
   * Inserts one copy per operation of each of the first {@code replayFrom} samples right after them (before the replayed ones,
   * which stay as they are).
   *
   * <p>Copies, so the new domain gets more steps than the replay. Measured against two ways of keeping the replay's share
   * ({@code eval --scenarios invert --label-curve 200,500 --no-oracle}, mirror + shift, 2026-12-02): one version of each
   * sample per epoch lost the gain (new-domain accuracy 0.608–0.737 against 0.699–0.801 with copies, plain 0.652–0.758) and
   * forgot as much (+2.3–2.8 points against +2.0–3.8); repeating the replay as often as the copies gained accuracy
   * (0.737–0.814) at twice the training time and forgot as much (+2.3–3.5). The extra forgetting follows the extra training,
   * not the new:replay ratio.
   */
  public Expanded expand(List<String> ids, List<float[]> images, int[] labels, int replayFrom, int channels, int height,
      int width) {
    if (none() || replayFrom == 0) {
      return new Expanded(ids, images, labels, replayFrom);
    }
    List<String> outIds = new ArrayList<>(ids.subList(0, replayFrom));
    List<float[]> outImages = new ArrayList<>(images.subList(0, replayFrom));
    List<Integer> outLabels = new ArrayList<>();
    for (int i = 0; i < replayFrom; i++) {
      outLabels.add(labels[i]);
    }
    for (String op : operations) {
      for (int i = 0; i < replayFrom; i++) {
        outIds.add(ids.get(i) + "#" + op);
        outImages.add(apply(op, images.get(i), channels, height, width, new Random(ids.get(i).hashCode() * 31L + op.hashCode())));
        outLabels.add(labels[i]);
      }
    }
    int newFrom = outIds.size();
    outIds.addAll(ids.subList(replayFrom, ids.size()));
    outImages.addAll(images.subList(replayFrom, images.size()));
    for (int i = replayFrom; i < labels.length; i++) {
      outLabels.add(labels[i]);
    }
    return new Expanded(outIds, outImages, outLabels.stream().mapToInt(Integer::intValue).toArray(), newFrom);
  }

  /** One operation on one image (a new array). */
  static float[] apply(String op, float[] x, int channels, int height, int width, Random rnd) {
    if (x.length != channels * height * width) {
      throw new IllegalArgumentException("image of " + x.length + " values is not " + channels + "x" + height + "x" + width);
    }
    float[] y = new float[x.length];
    switch (op) {
      case "mirror" -> {
        for (int c = 0; c < channels; c++) {
          for (int r = 0; r < height; r++) {
            int row = (c * height + r) * width;
            for (int col = 0; col < width; col++) {
              y[row + col] = x[row + width - 1 - col];
            }
          }
        }
      }
      case "shift" -> {
        int dy = rnd.nextInt(5) - 2;
        int dx = rnd.nextInt(5) - 2;
        for (int c = 0; c < channels; c++) {
          for (int r = 0; r < height; r++) {
            int sr = Math.min(height - 1, Math.max(0, r - dy));
            for (int col = 0; col < width; col++) {
              int sc = Math.min(width - 1, Math.max(0, col - dx));
              y[(c * height + r) * width + col] = x[(c * height + sr) * width + sc];
            }
          }
        }
      }
      case "noise" -> {
        float lo = Float.POSITIVE_INFINITY;
        float hi = Float.NEGATIVE_INFINITY;
        for (float v : x) {
          lo = Math.min(lo, v);
          hi = Math.max(hi, v);
        }
        float sigma = 0.03f * Math.max(1e-6f, hi - lo);
        for (int i = 0; i < x.length; i++) {
          y[i] = Math.min(hi, Math.max(lo, x[i] + (float) rnd.nextGaussian() * sigma));
        }
      }
      default -> throw new IllegalArgumentException("unknown augmentation " + op);
    }
    return y;
  }
}
