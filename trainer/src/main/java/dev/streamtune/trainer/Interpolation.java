package dev.streamtune.trainer;

import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import java.util.List;
import java.util.Locale;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Conservative training by weight interpolation toward the parent ({@value #KEY}), as in WiSE-FT (Wortsman et al., 2022): the
 * candidate's weights become {@code α·tuned + (1 − α)·parent}. Fine-tuning from the parent keeps both in one basin, so the
 * straight line between them stays a good model; moving back along it forgets less of the earlier domain at a small cost on the
 * new one (eval, 500 {@code blur} labels, all techniques together, the mean of 2 draws: α = 0.8 forgot 0.55 points of the
 * earlier domain where α = 1 forgot 1.15, at 0.6 points of the new domain; docs/benchmarks.md).
 *
 * <p>How far back is measured without labels: the smallest α of {@link #GRID} (walked down from 0.9, stopping at the first that
 * fails) whose answers on the fine-tune's new-domain images agree with the tuned model's on at least {@code minAgreement} of
 * them. Every changed answer costs at most one right answer, so the new domain loses at most {@code 1 − minAgreement} on those
 * images, while a far shift, where the line bends (rotated images: α = 0.9 lost 3 points), keeps α = 1. Immutable.
 */
public final class Interpolation {
  public static final String KEY = "streamtune.trainer.interpolate";
  /** The least agreement the curves of {@code eval} try when the trainer's setting is off. */
  public static final double DEFAULT_MIN_AGREEMENT = 0.98;
  /** The αs tried, from the tuned model back toward the parent. */
  static final double[] GRID = {0.9, 0.8, 0.7, 0.6, 0.5};
  /** Off: the tuned model as it is. */
  public static final Interpolation OFF = new Interpolation(Double.NaN);

  private final double minAgreement;

  private Interpolation(double minAgreement) {
    this.minAgreement = minAgreement;
  }

  /** Interpolation that keeps at least {@code minAgreement} of the tuned model's new-domain answers, in [0.5, 1). */
  public static Interpolation keeping(double minAgreement) {
    if (!(minAgreement >= 0.5 && minAgreement < 1)) {
      throw new IllegalArgumentException("the least agreement must be in [0.5, 1), was " + minAgreement);
    }
    return new Interpolation(minAgreement);
  }

  /** Reads {@value #KEY}: {@code off}, or the least share of the tuned model's new-domain answers to keep, in [0.5, 1). */
  public static Interpolation parse(String value) {
    String v = value.trim();
    if (v.equalsIgnoreCase("off")) {
      return OFF;
    }
    try {
      return keeping(Double.parseDouble(v));
    } catch (IllegalArgumentException e) { // not a number (NumberFormatException), or outside [0.5, 1)
      throw new ConfigException(KEY, value, "must be 'off' or the least share of the fine-tuned model's new-domain answers the "
          + "interpolated one keeps, in [0.5, 1)");
    }
  }

  public boolean off() {
    return Double.isNaN(minAgreement);
  }

  /** The least agreement kept (NaN when off). */
  public double minAgreement() {
    return minAgreement;
  }

  /** The setting's value as it is read back ({@code off} or the least agreement). */
  public String describe() {
    return off() ? "off" : String.format(Locale.ROOT, "%s", minAgreement);
  }

  /**
   * What an interpolation chose.
   *
   * @param model the candidate: {@code tuned} itself when {@code alpha} is 1
   * @param alpha the tuned model's weight
   * @param agreement the share of the new-domain images answered as the tuned model answers them, at {@code alpha}
   * @param images how many new-domain images the agreement was measured on
   * @param nextAlpha the next α of the grid, whose agreement fell below the least (NaN when every α kept it)
   * @param next that α's agreement (NaN when every α kept it)
   * @param minAgreement the least agreement
   */
  public record Choice(Network model, double alpha, double agreement, int images, double nextAlpha, double next,
      double minAgreement) {
    /**
     * For the training summary, e.g. {@code α 0.8: agreement 0.986 on 500 new-domain images (at least 0.98; α 0.7: 0.975)}.
     */
    public String describe() {
      String after = Double.isNaN(next) ? "" : String.format(Locale.ROOT, "; α %.1f: %.3f", nextAlpha, next);
      return String.format(Locale.ROOT, "α %.1f: agreement %.3f on %d new-domain images (at least %s%s)", alpha, agreement,
          images, minAgreement, after);
    }
  }

  /**
   * Moves {@code tuned} back toward {@code parent} as far as the agreement on {@code newImages} allows. Both must have the same
   * parameters (a fine-tune that grew the head keeps {@code tuned}: its new classes have no parent weights to go back to); with
   * this off, no images or no gap between the two, {@code tuned} is kept as it is ({@code alpha} 1).
   */
  public Choice apply(Network parent, Network tuned, Preprocessor pre, List<float[]> newImages) {
    return apply(parent, tuned, pre, newImages, n -> { });
  }

  /**
   * {@link #apply(Network, Network, Preprocessor, List)} with {@code settle} run on each mix before it answers (a graph's
   * batch-norm statistics re-estimated for its weights).
   */
  public Choice apply(Network parent, Network tuned, Preprocessor pre, List<float[]> newImages,
      java.util.function.Consumer<Network> settle) {
    if (off() || newImages.isEmpty() || parent.type() != tuned.type() || parent.numParams() != tuned.numParams()) {
      return new Choice(tuned, 1, 1, newImages.size(), Double.NaN, Double.NaN, minAgreement);
    }
    int[] reference = answers(tuned, pre, newImages);
    INDArray from = parent.params().dup();
    INDArray to = tuned.params().dup();
    Network kept = tuned;
    double keptAlpha = 1;
    double keptAgreement = 1;
    double nextAlpha = Double.NaN;
    double next = Double.NaN;
    for (double alpha : GRID) {
      Network mix = tuned.copy();
      mix.setParams(to.mul(alpha).addi(from.mul(1 - alpha)));
      settle.accept(mix);
      int[] a = answers(mix, pre, newImages);
      int same = 0;
      for (int i = 0; i < a.length; i++) {
        same += a[i] == reference[i] ? 1 : 0;
      }
      double agreement = (double) same / a.length;
      if (agreement < minAgreement) {
        nextAlpha = alpha;
        next = agreement;
        break;
      }
      kept = mix;
      keptAlpha = alpha;
      keptAgreement = agreement;
    }
    return new Choice(kept, keptAlpha, keptAgreement, newImages.size(), nextAlpha, next, minAgreement);
  }

  private static int[] answers(Network net, Preprocessor pre, List<float[]> images) {
    int[] out = new int[images.size()];
    for (int from = 0; from < images.size(); from += 256) {
      int[] p = Networks.argMax(net.output(pre.batch(images.subList(from, Math.min(images.size(), from + 256)))));
      System.arraycopy(p, 0, out, from, p.length);
    }
    return out;
  }
}
