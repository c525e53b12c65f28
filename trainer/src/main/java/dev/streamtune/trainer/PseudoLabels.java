package dev.streamtune.trainer;

import dev.streamtune.core.config.ConfigException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

/**
 * Pseudo-labels for unlabelled served inputs of the new domain ({@code streamtune.trainer.pseudo-labels}), class-balanced
 * self-training in the manner of CBST (Zou et al., 2018): a first fine-tune on most of the labelled new-domain samples answers
 * the rest (the calibration set, held out of it) and the unlabelled inputs. A global confidence threshold would let the classes
 * the model is surest of flood the batch (on shifted images some classes never reach it) and teach it to ignore the others; so
 * each predicted class keeps its own most confident share {@code keep}, the same share for every class: the largest of
 * {@link #KEEP_GRID} at which the calibration set's answers so kept are right at least {@link Options#precision} of the time.
 * The pseudo-labels' classes then keep the labelled samples' proportions (as many as the scarcest class allows), up to
 * {@link Options#share} of the final training set: a class left out would be learnt as rarer than it is. The second fine-tune trains on every labelled sample plus these, and the gate is the guard against
 * confirmation bias: a candidate that learnt its own mistakes loses on the held-out recent samples. Immutable.
 */
public final class PseudoLabels {
  public static final String KEY = "streamtune.trainer.pseudo-labels";
  public static final String PRECISION_KEY = "streamtune.trainer.pseudo-labels.precision";
  /** Labelled new-domain samples below which no pseudo-labels are made: the calibration set would be too small to trust. */
  public static final int MIN_LABELLED = 100;
  /**
   * The most labelled samples (a share) whose classes the model never answers among the inputs kept: such classes get no
   * pseudo-label and the others keep their proportions; above this share, no pseudo-labels at all.
   */
  static final double MAX_MISSING = 0.2;
  /** The least calibration answers kept for their precision to count. */
  static final int MIN_KEPT = 20;

  /**
   * @param share the most pseudo-labelled samples as a share of the final training set (new + pseudo + replay), in [0, 0.9];
   *     0: off
   * @param precision the least share of right answers kept on the calibration set, in (0, 1]
   * @param calibration the share of the labelled new-domain samples held out of the first fine-tune to choose the kept share
   */
  public record Options(double share, double precision, double calibration) {
    public static final Options OFF = new Options(0, 0.95, 0.2);

    public Options {
      if (!(share >= 0 && share <= 0.9) || !(precision > 0 && precision <= 1) || !(calibration > 0 && calibration < 0.5)) {
        throw new IllegalArgumentException("pseudo-labels: share in [0, 0.9], precision in (0, 1], calibration in (0, 0.5); were "
            + share + ", " + precision + ", " + calibration);
      }
    }

    public boolean off() {
      return share == 0;
    }

    /** Reads {@value #KEY} (the share, default 0: off) and {@value #PRECISION_KEY} (default 0.95). */
    public static Options parse(double share, double precision) {
      if (!(share >= 0 && share <= 0.9)) {
        throw new ConfigException(KEY, String.valueOf(share), "must be a share of the training set in [0, 0.9] (0: off)");
      }
      if (!(precision > 0 && precision <= 1)) {
        throw new ConfigException(PRECISION_KEY, String.valueOf(precision), "must be in (0, 1]");
      }
      return new Options(share, precision, OFF.calibration);
    }

    /** The most pseudo-labels for a training set of {@code labelled} samples (new + replay) at this share. */
    public int cap(int labelled) {
      return off() ? 0 : (int) Math.floor(share / (1 - share) * labelled);
    }
  }

  /**
   * What a selection took and why, as the training summary records it.
   *
   * @param indices the chosen unlabelled inputs (indices into the pool), most confident first within each class
   * @param labels the pseudo-label of each
   * @param keep the share of each predicted class's most confident answers kept (NaN when none reached the precision)
   * @param calibratedPrecision the first fine-tune's precision on the calibration answers so kept
   * @param calibrationSize labelled samples in the calibration set
   * @param pool unlabelled inputs offered
   * @param above of them, answers kept before the per-class caps
   * @param perClass pseudo-labels per class
   */
  public record Selection(int[] indices, int[] labels, double keep, double calibratedPrecision, int calibrationSize, int pool,
      int above, int[] perClass) {
    public int count() {
      return indices.length;
    }

    public String describe() {
      if (Double.isNaN(keep)) {
        return String.format(Locale.ROOT, "no pseudo-labels: no share of each class's most confident answers reached the "
            + "precision on %d calibration samples (pool %d)", calibrationSize, pool);
      }
      return String.format(Locale.ROOT, "%d pseudo-labels from %d unlabelled inputs (the most confident %.0f%% of each predicted "
          + "class: %d, precision %.3f on %d calibration samples), per class %s", count(), pool, keep * 100, above,
          calibratedPrecision, calibrationSize, Arrays.toString(perClass));
    }
  }

  private PseudoLabels() {}

  /** The per-class shares tried, largest first. */
  static final double[] KEEP_GRID = {1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1};

  /**
   * Whether each answer is among the most confident {@code keep} share of the answers of its predicted class (at least one per
   * class that has any).
   */
  static boolean[] kept(double[] confidence, int[] predicted, double keep) {
    java.util.Map<Integer, List<Integer>> byClass = new java.util.HashMap<>();
    for (int i = 0; i < predicted.length; i++) {
      byClass.computeIfAbsent(predicted[i], k -> new ArrayList<>()).add(i);
    }
    boolean[] out = new boolean[predicted.length];
    for (List<Integer> xs : byClass.values()) {
      xs.sort(Comparator.comparingDouble((Integer i) -> -confidence[i]));
      int k = Math.max(1, (int) Math.floor(keep * xs.size()));
      for (int j = 0; j < k; j++) {
        out[xs.get(j)] = true;
      }
    }
    return out;
  }

  /**
   * The largest per-class share of {@link #KEEP_GRID} at which the kept calibration answers ({@link #kept}) are right at least
   * {@code precision} of the time, with at least {@link #MIN_KEPT} kept; NaN when none is. {@code confidence[i]},
   * {@code predicted[i]}: calibration sample i's top-class probability and class; {@code right[i]}: whether that was its label.
   */
  public static double keepShare(double[] confidence, int[] predicted, boolean[] right, double precision) {
    for (double keep : KEEP_GRID) {
      boolean[] k = kept(confidence, predicted, keep);
      if (count(k, k) >= MIN_KEPT && count(k, right) >= precision * count(k, k)) {
        return keep;
      }
    }
    return Double.NaN;
  }

  /** The precision of the calibration answers kept at {@code keep} ({@code NaN} when none). */
  public static double precisionKept(double[] confidence, int[] predicted, boolean[] right, double keep) {
    if (Double.isNaN(keep)) {
      return Double.NaN;
    }
    boolean[] k = kept(confidence, predicted, keep);
    int n = count(k, k);
    return n == 0 ? Double.NaN : count(k, right) / (double) n;
  }

  /** How many i have both {@code a[i]} and {@code b[i]}. */
  private static int count(boolean[] a, boolean[] b) {
    int n = 0;
    for (int i = 0; i < a.length; i++) {
      n += a[i] && b[i] ? 1 : 0;
    }
    return n;
  }

  /**
   * Chooses pseudo-labels among {@code probabilities} (one row per unlabelled input, class probabilities): per predicted class its
   * most confident {@code keep} share; of those, per class the same proportion of the pseudo-labels as of {@code labelledClasses}
   * (counts of the labelled new-domain samples per class), as many in all as the scarcest class allows, at most {@code cap}. A
   * class with labels but no answer kept gets none, and when such classes hold more than {@link #MAX_MISSING} of the labelled
   * samples there are none at all: pseudo-labels that leave out classes teach the model to ignore them.
   */
  public static Selection select(float[][] probabilities, double keep, int[] labelledClasses, int cap,
      double calibratedPrecision, int calibrationSize) {
    int classes = labelledClasses.length;
    int pool = probabilities.length;
    if (Double.isNaN(keep) || cap <= 0 || pool == 0) {
      return new Selection(new int[0], new int[0], keep, calibratedPrecision, calibrationSize, pool, 0, new int[classes]);
    }
    double[] top = new double[pool];
    int[] predicted = new int[pool];
    for (int i = 0; i < pool; i++) {
      float[] p = probabilities[i];
      if (p.length != classes) {
        throw new IllegalArgumentException("input " + i + " has " + p.length + " class probabilities, the labels " + classes);
      }
      predicted[i] = argMax(p);
      top[i] = p[predicted[i]];
    }
    boolean[] k = kept(top, predicted, keep);
    List<List<Integer>> byClass = new ArrayList<>();
    for (int c = 0; c < classes; c++) {
      byClass.add(new ArrayList<>());
    }
    int above = 0;
    for (int i = 0; i < pool; i++) {
      if (k[i]) {
        above++;
        byClass.get(predicted[i]).add(i);
      }
    }
    // the pseudo-labels' classes in the labelled samples' proportions: as many in all as the scarcest class allows
    long total = 0;
    for (int n : labelledClasses) {
      total += n;
    }
    double m = cap;
    long missing = 0;
    for (int c = 0; c < classes && total > 0; c++) {
      if (labelledClasses[c] > 0 && byClass.get(c).isEmpty()) {
        missing += labelledClasses[c];
      } else if (labelledClasses[c] > 0) {
        m = Math.min(m, byClass.get(c).size() / (labelledClasses[c] / (double) total));
      }
    }
    if (missing > MAX_MISSING * total) {
      m = 0;
    }
    List<Integer> chosen = new ArrayList<>();
    int[] perClass = new int[classes];
    for (int c = 0; c < classes && total > 0; c++) {
      int quota = (int) Math.floor(m * labelledClasses[c] / (double) total + 1e-9);
      List<Integer> xs = byClass.get(c);
      xs.sort(Comparator.comparingDouble((Integer i) -> -top[i]));
      for (int j = 0; j < Math.min(quota, xs.size()); j++) {
        chosen.add(xs.get(j));
        perClass[c]++;
      }
    }
    int[] idx = chosen.stream().mapToInt(Integer::intValue).toArray();
    int[] lab = chosen.stream().mapToInt(i -> predicted[i]).toArray();
    return new Selection(idx, lab, keep, calibratedPrecision, calibrationSize, pool, above, perClass);
  }


  /** The index of the largest probability (the first of equals): the predicted class of one answer. */
  static int argMax(float[] p) {
    int arg = 0;
    for (int c = 1; c < p.length; c++) {
      arg = p[c] > p[arg] ? c : arg;
    }
    return arg;
  }
}
