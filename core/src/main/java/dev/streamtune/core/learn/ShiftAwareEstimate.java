package dev.streamtune.core.learn;

import java.util.Arrays;
import java.util.Locale;

/**
 * A model's accuracy on unlabelled answers estimated from its calibrated confidence (CBPE, {@link ConfidenceCalibration}), held
 * to the class prior when the inputs are unlike the labelled reference.
 *
 * <p>CBPE assumes that a confidence means the same right share after a shift. On images unlike anything the model saw, a CNN
 * answers confidently and wrongly ({@code eval}: +62 points on inverted images, +77 on rotated ones). Two things an estimate
 * without labels can still use:
 * <ul>
 *   <li><b>Whether the inputs are unlike the reference.</b> Each input's distance from its embedding to the nearest reference
 *       embedding, divided by the median distance from a reference input to its nearest other one. The median of that ratio
 *       over the answers is about 1 on inputs like the reference, also when the class mix changes, and above
 *       {@value #UNFAMILIAR} when the images themselves changed ({@code eval}, 1,000 reference images: 0.99–1.00 on clean
 *       images and on a label-prior shift, 1.50–2.60 on its covariate shifts; {@code bench drift}, 300: at most 1.10 on clean
 *       served streams, 1.21–2.14 on shifted ones). Not per class: normalising by the answered class's own spread hid rotated
 *       images answered as a wide class (Bag), so a long run of Bags alone reads up to 1.4 (see {@link Window}).</li>
 *   <li><b>Under a covariate shift the classes keep their shares.</b> At most a share {@code prior[k]} of the inputs are of
 *       class {@code k}, so at most that share of all answers can be right answers "k". On unlike inputs the estimate is
 *       {@code Σ_k min(calibrated confidence summed over answers k / n, prior[k])}: a model that answers most inverted images
 *       "Bag" with confidence is right on at most the Bags.</li>
 * </ul>
 * On inputs like the reference the estimate is the plain CBPE: a change of the class mix alone leaves the confidence
 * meaningful, and the cap would be wrong there. Blind spots: a change of the labelling rule itself (only the supervised
 * detectors see it), a model that turns under-confident on the new images (blur: the estimate stays low; the cap only lowers
 * it), a covariate shift together with a change of the class mix, and a window whose class mix is far from the reference's
 * (long runs of one class: the cap then counts too few right answers). Immutable and thread-safe.
 */
public final class ShiftAwareEstimate {
  /** The median distance ratio above which the inputs count as unlike the reference. */
  public static final double UNFAMILIAR = 1.2;
  /** Fewest answers with a distance before the ratio can call the inputs unlike the reference. */
  public static final int MIN_RATIOS = 50;

  /**
   * One estimate.
   *
   * @param estimate the estimated accuracy: {@code capped} when {@code unfamiliar}, else {@code plain}
   * @param plain the plain CBPE (mean calibrated confidence)
   * @param capped the CBPE held to the reference's class prior
   * @param distanceRatio the median distance ratio of the answers (NaN when none had a distance)
   * @param unfamiliar whether the inputs count as unlike the reference (for a {@link Window}: have counted so for a whole
   *     window in a row), and {@code estimate} is {@code capped}
   */
  public record Estimate(double estimate, double plain, double capped, double distanceRatio, boolean unfamiliar) {}

  private final ConfidenceCalibration calibration;
  private final double[] prior;
  private final float[][] reference;
  /** The median distance from a reference input to its nearest other reference input. */
  private final double scale;

  private ShiftAwareEstimate(ConfidenceCalibration calibration, double[] prior, float[][] reference, double scale) {
    this.calibration = calibration;
    this.prior = prior;
    this.reference = reference;
    this.scale = scale;
  }

  /**
   * Learns from the reference answers: a labelled set the model did not train on.
   *
   * @param confidence each answer's top-class confidence in [0, 1]
   * @param correct whether each answer was right
   * @param label each input's true class index, or -1 for a label the model does not know (counted in no class's share)
   * @param predicted each answer's class index
   * @param embeddings each input's embedding (all of one width)
   * @param classes the model's number of classes
   * @param maxEce the calibration error up to which the raw confidence is kept
   */
  public static ShiftAwareEstimate fit(double[] confidence, boolean[] correct, int[] label, int[] predicted,
      float[][] embeddings, int classes, double maxEce) {
    int n = confidence.length;
    if (correct.length != n || label.length != n || predicted.length != n || embeddings.length != n || n < 2) {
      throw new IllegalArgumentException("need one outcome, label, answer and embedding per confidence and at least two: " + n
          + ", " + correct.length + ", " + label.length + ", " + predicted.length + ", " + embeddings.length);
    }
    if (classes < 1) {
      throw new IllegalArgumentException("classes must be at least 1, was " + classes);
    }
    ConfidenceCalibration calibration = ConfidenceCalibration.fit(confidence, correct, maxEce);
    double[] prior = new double[classes];
    for (int i = 0; i < n; i++) {
      if (label[i] >= classes || predicted[i] < 0 || predicted[i] >= classes) {
        throw new IllegalArgumentException("class index outside [0, " + classes + "): label " + label[i] + ", answer "
            + predicted[i]);
      }
      if (label[i] >= 0) {
        prior[label[i]] += 1.0 / n;
      }
    }
    float[][] reference = new float[n][];
    for (int i = 0; i < n; i++) {
      if (embeddings[i].length != embeddings[0].length) {
        throw new IllegalArgumentException("embeddings of different widths: " + embeddings[0].length + " and "
            + embeddings[i].length);
      }
      reference[i] = embeddings[i].clone();
    }
    double[] loo = new double[n];
    for (int i = 0; i < n; i++) {
      loo[i] = distance(reference[nearest(reference, reference[i], i)], reference[i]);
    }
    return new ShiftAwareEstimate(calibration, prior, reference, positive(median(loo)));
  }

  /**
   * An input's distance ratio: from its embedding to the nearest reference embedding, over the median distance from a
   * reference input to its nearest other one.
   */
  public double distanceRatio(float[] embedding) {
    if (embedding.length != reference[0].length) {
      throw new IllegalArgumentException("expected an embedding of " + reference[0].length + " values, got " + embedding.length);
    }
    return distance(reference[nearest(reference, embedding, -1)], embedding) / scale;
  }

  /**
   * The estimate for answers given with {@code confidence} as classes {@code predicted}, with their distance ratios
   * ({@link #distanceRatio}; NaN for an answer without one).
   */
  public Estimate estimate(double[] confidence, int[] predicted, double[] ratios) {
    int n = confidence.length;
    if (predicted.length != n || ratios.length != n) {
      throw new IllegalArgumentException("need one answer and ratio per confidence: " + n + ", " + predicted.length + ", "
          + ratios.length);
    }
    if (n == 0) {
      return new Estimate(Double.NaN, Double.NaN, Double.NaN, Double.NaN, false);
    }
    double plain = 0;
    double[] mass = new double[prior.length];
    double[] known = new double[n];
    int m = 0;
    for (int i = 0; i < n; i++) {
      double p = calibration.apply(confidence[i]) / n;
      plain += p;
      if (predicted[i] >= 0 && predicted[i] < mass.length) {
        mass[predicted[i]] += p;
      }
      if (!Double.isNaN(ratios[i])) {
        known[m++] = ratios[i];
      }
    }
    double capped = 0;
    for (int k = 0; k < mass.length; k++) {
      capped += Math.min(mass[k], prior[k]);
    }
    double ratio = m == 0 ? Double.NaN : median(Arrays.copyOf(known, m));
    boolean unfamiliar = m >= Math.min(MIN_RATIOS, n) && ratio > UNFAMILIAR;
    return new Estimate(unfamiliar ? capped : plain, plain, capped, ratio, unfamiliar);
  }

  /** {@link #estimate(double[], int[], double[])} with each answer's ratio taken from its embedding. */
  public Estimate estimate(double[] confidence, int[] predicted, float[][] embeddings) {
    double[] ratios = new double[embeddings.length];
    for (int i = 0; i < ratios.length; i++) {
      ratios[i] = distanceRatio(embeddings[i]);
    }
    return estimate(confidence, predicted, ratios);
  }

  /**
   * The last {@code capacity} answers of a served stream and the estimate over them, as a service keeps it: answers may arrive
   * before the reference is fitted (their embeddings are kept and measured once it is), and the estimate is held to the class
   * prior only once the inputs have read as unlike the reference for {@code capacity} answers in a row, i.e. after the window
   * has turned over: a run of one class whose images lie wide apart (Bags) reads up to 1.4 for as long as it fills most of
   * the window, a shift lasts. Not thread-safe.
   */
  public static final class Window {
    private final int capacity;
    private final int minimum;
    private final double[] confidence;
    private final int[] predicted;
    private final float[][] embeddings;
    private final double[] ratios;
    private ShiftAwareEstimate fitted;
    private int seen;
    private int unlikeInARow;
    private Estimate last = new Estimate(Double.NaN, Double.NaN, Double.NaN, Double.NaN, false);

    /** A window of {@code capacity} answers that gives an estimate from {@code minimum} on. */
    public Window(int capacity, int minimum) {
      if (capacity < 1 || minimum < 1 || minimum > capacity) {
        throw new IllegalArgumentException("need 1 <= minimum <= capacity, was " + minimum + " and " + capacity);
      }
      this.capacity = capacity;
      this.minimum = minimum;
      this.confidence = new double[capacity];
      this.predicted = new int[capacity];
      this.embeddings = new float[capacity][];
      this.ratios = new double[capacity];
    }

    /** The reference the estimate is taken against; the answers already in the window are measured against it. */
    public void fit(ShiftAwareEstimate reference) {
      this.fitted = reference;
      for (int i = 0; i < Math.min(seen, capacity); i++) {
        ratios[i] = reference.distanceRatio(embeddings[i]);
      }
      unlikeInARow = 0;
      update();
    }

    /** One answer: its top-class confidence (clamped to [0, 1]), the class it was answered as, the input's embedding. */
    public void add(double confidence, int predicted, float[] embedding) {
      int at = seen % capacity;
      this.confidence[at] = Math.min(1, Math.max(0, confidence));
      this.predicted[at] = predicted;
      this.embeddings[at] = embedding;
      this.ratios[at] = fitted == null ? Double.NaN : fitted.distanceRatio(embedding);
      seen++;
      update();
    }

    private void update() {
      int n = Math.min(seen, capacity);
      if (fitted == null || n < minimum) {
        last = new Estimate(Double.NaN, Double.NaN, Double.NaN, Double.NaN, false);
        return;
      }
      Estimate e = fitted.estimate(Arrays.copyOf(confidence, n), Arrays.copyOf(predicted, n), Arrays.copyOf(ratios, n));
      unlikeInARow = e.unfamiliar() ? unlikeInARow + 1 : 0;
      boolean held = unlikeInARow >= capacity;
      last = new Estimate(held ? e.capped() : e.plain(), e.plain(), e.capped(), e.distanceRatio(), held);
    }

    /** The estimate over the window: NaN before the reference is fitted or before {@code minimum} answers. */
    public Estimate estimate() {
      return last;
    }

    /** The reference, null until fitted. */
    public ShiftAwareEstimate fitted() {
      return fitted;
    }
  }

  public ConfidenceCalibration calibration() {
    return calibration;
  }

  /** The reference's class shares (a label the model does not know counts in none). */
  public double[] prior() {
    return prior.clone();
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%s; class prior and embedding distances from %d reference answers (unlike them above a "
        + "median distance ratio of %.2f)", calibration, reference.length, UNFAMILIAR);
  }

  /** The index of the reference embedding nearest to {@code x}, other than {@code skip}. */
  private static int nearest(float[][] reference, float[] x, int skip) {
    double best = Double.POSITIVE_INFINITY;
    int at = -1;
    for (int i = 0; i < reference.length; i++) {
      if (i == skip) {
        continue;
      }
      float[] r = reference[i];
      double s = 0;
      for (int j = 0; j < r.length && s < best; j++) {
        double d = r[j] - x[j];
        s += d * d;
      }
      if (s < best) {
        best = s;
        at = i;
      }
    }
    return at;
  }

  private static double distance(float[] a, float[] b) {
    return Math.sqrt(LabelPriority.squaredDistance(a, b));
  }

  private static double median(double[] x) {
    double[] c = x.clone();
    Arrays.sort(c);
    int n = c.length;
    return n % 2 == 1 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
  }

  private static double positive(double scale) {
    return scale > 0 ? scale : Double.MIN_NORMAL;
  }
}
