package dev.streamtune.evaluator.internal;

import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.learn.ConfidenceCalibration;
import dev.streamtune.core.learn.ShiftAwareEstimate;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The champion's accuracy on served traffic estimated before labels arrive (CBPE held to the class prior on unlike inputs,
 * {@link ShiftAwareEstimate}): its top-class confidence on the sampled served inputs, calibrated on held-out labelled samples it
 * never trained on. Once a version is the champion and at least {@value #MIN_REFERENCE} held-out samples have arrived, the
 * newest of them (up to {@value #REFERENCE}) are its reference: its answers on them fit the calibration, the class prior and
 * the embedding distances once, kept for the version (refitting on later labels would turn the estimate into the labelled
 * accuracy). The estimate is taken over the last {@value #WINDOW} sampled inputs: their mean calibrated confidence, or, when
 * their embeddings lie farther from the reference's than the reference's lie from each other (median ratio above
 * {@value ShiftAwareEstimate#UNFAMILIAR}), the calibrated confidence per answered class capped at that class's share of the
 * reference. It reads the confidence, so it misses a change of the labelling rule itself, which only the supervised detectors
 * see. Used by the feature-drift thread only; not thread-safe, except {@link #estimate()} and {@link #distanceRatio()}.
 */
final class AccuracyEstimate {
  /** Held-out samples the calibration is fitted on. */
  static final int REFERENCE = 300;
  /** Fewest held-out samples a calibration is fitted on. */
  static final int MIN_REFERENCE = 100;
  /** Sampled served inputs the estimate averages over. */
  static final int WINDOW = 300;
  /** Fewest sampled inputs before an estimate is given. */
  static final int MIN_WINDOW = 50;
  /** The raw confidence is kept when its calibration error on the reference is at most this. */
  static final double MAX_ECE = ConfidenceCalibration.DEFAULT_MAX_ECE;

  /** A held-out labelled sample as it arrived. */
  record HeldOut(byte[] image, String label) {}

  private final Deque<HeldOut> heldOut = new ArrayDeque<>();
  private final double[] window = new double[WINDOW];
  private final int[] answers = new int[WINDOW];
  private final float[][] embeddings = new float[WINDOW][];
  /** Each windowed input's distance ratio, once the version is calibrated. */
  private final double[] ratios = new double[WINDOW];
  private int seen;
  private int version = -1;
  private ShiftAwareEstimate fitted;
  private volatile double estimate = Double.NaN;
  private volatile double distanceRatio = Double.NaN;
  private boolean unfamiliar;
  /** Whether a drift was signalled on the champion since it became the champion. */
  private volatile boolean drifted;

  /** A held-out labelled sample arrived; the newest {@value #REFERENCE} are kept. */
  void addHeldOut(byte[] image, String label) {
    heldOut.addLast(new HeldOut(image, label));
    while (heldOut.size() > REFERENCE) {
      heldOut.removeFirst();
    }
  }

  /** A new champion: its calibration and window start afresh. */
  void reset(int version) {
    this.version = version;
    drifted = false;
    fitted = null;
    seen = 0;
    estimate = Double.NaN;
    distanceRatio = Double.NaN;
    unfamiliar = false;
  }

  int version() {
    return version;
  }

  /** The champion's fitted estimate (calibration, class prior, embedding distances), null until fitted. */
  ShiftAwareEstimate fitted() {
    return fitted;
  }

  /** The calibration of the champion, null until fitted. */
  ConfidenceCalibration calibration() {
    return fitted == null ? null : fitted.calibration();
  }

  /**
   * Fits the champion's calibration on the held-out samples at hand, once there are {@value #MIN_REFERENCE}; a sample that does
   * not decode for it is left out, one of a label it does not know counts as a wrong answer.
   *
   * @return true when the champion is calibrated (now or before)
   */
  boolean calibrate(LoadedModel champion) {
    if (fitted != null) {
      return true;
    }
    if (heldOut.size() < MIN_REFERENCE) {
      return false;
    }
    Preprocessor pre = Preprocessor.of(champion.spec());
    List<float[]> images = new ArrayList<>();
    List<String> labels = new ArrayList<>();
    for (HeldOut h : heldOut) {
      try {
        images.add(pre.decode(h.image()));
        labels.add(h.label());
      } catch (ImageFormatException e) {
        // not an image this model can take: not part of its reference
      }
    }
    if (images.size() < MIN_REFERENCE) {
      return false;
    }
    List<String> known = champion.spec().labels();
    String layer = champion.spec().embeddingLayer();
    int n = images.size();
    double[] confidence = new double[n];
    boolean[] correct = new boolean[n];
    int[] label = new int[n];
    int[] predicted = new int[n];
    float[][] embeddings = new float[n][];
    int classes = 0;
    for (int from = 0; from < n; from += 64) {
      List<float[]> part = images.subList(from, Math.min(n, from + 64));
      Network.Pass pass = champion.network().featuresAndOutput(layer, pre.batch(part));
      INDArray out = pass.output();
      int[] p = Networks.argMax(out);
      classes = (int) out.size(1);
      for (int i = 0; i < part.size(); i++) {
        int k = from + i;
        confidence[k] = Math.min(1, Math.max(0, out.getDouble(i, p[i])));
        predicted[k] = p[i];
        label[k] = known.indexOf(labels.get(k)); // -1: a label it does not know, a wrong answer in no class's share
        correct[k] = label[k] == p[i];
        embeddings[k] = pass.features().getRow(i).dup().toFloatVector();
      }
    }
    fitted = ShiftAwareEstimate.fit(confidence, correct, label, predicted, embeddings, classes, MAX_ECE);
    for (int i = 0; i < Math.min(seen, WINDOW); i++) {
      ratios[i] = fitted.distanceRatio(this.embeddings[i]);
    }
    update();
    return true;
  }

  /**
   * A sampled input's answer: its top-class confidence, the class it was answered as and its embedding (the spec's embedding
   * layer, as {@link #calibrate} reads it).
   */
  void add(double confidence, int predicted, float[] embedding) {
    int at = seen % WINDOW;
    window[at] = Math.min(1, Math.max(0, confidence));
    answers[at] = predicted;
    embeddings[at] = embedding;
    ratios[at] = fitted == null ? Double.NaN : fitted.distanceRatio(embedding);
    seen++;
    update();
  }

  private void update() {
    int n = Math.min(seen, WINDOW);
    if (fitted == null || n < MIN_WINDOW) {
      estimate = Double.NaN;
      distanceRatio = Double.NaN;
      return;
    }
    ShiftAwareEstimate.Estimate e = fitted.estimate(Arrays.copyOf(window, n), Arrays.copyOf(answers, n),
        Arrays.copyOf(ratios, n));
    estimate = e.estimate();
    distanceRatio = e.distanceRatio();
    unfamiliar = e.unfamiliar();
  }

  /** Whether the last estimate took the served inputs as unlike the reference (and held it to the class prior). */
  boolean unfamiliar() {
    return unfamiliar;
  }

  /**
   * The median distance ratio of the windowed inputs' embeddings to the reference's ({@link ShiftAwareEstimate}): about 1 on
   * inputs like the reference; NaN before the version is calibrated.
   */
  double distanceRatio() {
    return distanceRatio;
  }

  /**
   * A drift was signalled on {@code version}: when it is the champion, its estimate is no longer trusted until the next champion
   * (a calibration fitted before the shift does not describe traffic after it: on far shifts the model answers confidently and
   * wrongly, and the estimate stays high). True when this changed the flag.
   */
  boolean onDrift(int version) {
    if (version != this.version || drifted) {
      return false;
    }
    drifted = true;
    return true;
  }

  /** 1 while no drift was signalled on {@code version} as the champion, 0 after; NaN when it is not the champion. */
  double trusted(int version) {
    return version != this.version ? Double.NaN : drifted ? 0 : 1;
  }

  /** The current estimate of the champion's accuracy on served traffic; NaN before it has one. */
  double estimate() {
    return estimate;
  }
}
