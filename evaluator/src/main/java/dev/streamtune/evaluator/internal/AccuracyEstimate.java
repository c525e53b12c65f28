package dev.streamtune.evaluator.internal;

import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.learn.ConfidenceCalibration;
import dev.streamtune.core.learn.ShiftAwareEstimate;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.evaluator.AccuracyEstimateSettings;
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
 * accuracy). The estimate is taken over the last {@code streamtune.evaluator.estimate.window} sampled inputs (default
 * {@value #WINDOW}; {@link ShiftAwareEstimate.Window}): their mean calibrated confidence, or, once their embeddings have lain
 * farther from the reference's than the reference's lie from each other (median ratio above
 * {@value ShiftAwareEstimate#UNFAMILIAR}) for a whole window in a row, the calibrated confidence per answered class capped at
 * that class's share of the reference (unless {@code streamtune.evaluator.estimate.hold-to-prior=false}). It reads the
 * confidence, so it misses a change of the labelling rule itself, which only the supervised detectors see. Used by the
 * feature-drift thread only; not thread-safe, except {@link #estimate()} and {@link #distanceRatio()}.
 */
final class AccuracyEstimate {
  /** Held-out samples the calibration is fitted on. */
  static final int REFERENCE = 300;
  /** Fewest held-out samples a calibration is fitted on. */
  static final int MIN_REFERENCE = 100;
  /** Sampled served inputs the estimate averages over, by default ({@code streamtune.evaluator.estimate.window}). */
  static final int WINDOW = 300;
  /** Fewest sampled inputs before an estimate is given. */
  static final int MIN_WINDOW = 50;
  /** The raw confidence is kept when its calibration error on the reference is at most this. */
  static final double MAX_ECE = ConfidenceCalibration.DEFAULT_MAX_ECE;

  /** A held-out labelled sample as it arrived. */
  record HeldOut(byte[] image, String label) {}

  private final Deque<HeldOut> heldOut = new ArrayDeque<>();
  private final AccuracyEstimateSettings settings;
  private ShiftAwareEstimate.Window window;
  private int version = -1;
  private volatile double estimate = Double.NaN;
  private volatile double distanceRatio = Double.NaN;
  private boolean unfamiliar;
  /** Whether a drift was signalled on the champion since it became the champion. */
  private volatile boolean drifted;

  AccuracyEstimate(AccuracyEstimateSettings settings) {
    this.settings = settings;
    this.window = newWindow();
  }

  /** The default settings: a window of {@value #WINDOW}, held to the class prior. */
  AccuracyEstimate() {
    this(new AccuracyEstimateSettings(WINDOW, true));
  }

  private ShiftAwareEstimate.Window newWindow() {
    return new ShiftAwareEstimate.Window(settings.window(), Math.min(MIN_WINDOW, settings.window()));
  }

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
    window = newWindow();
    publish();
  }

  int version() {
    return version;
  }

  /** The champion's fitted estimate (calibration, class prior, embedding distances), null until fitted. */
  ShiftAwareEstimate fitted() {
    return window.fitted();
  }

  /** The calibration of the champion, null until fitted. */
  ConfidenceCalibration calibration() {
    return fitted() == null ? null : fitted().calibration();
  }

  /**
   * Fits the champion's calibration on the held-out samples at hand, once there are {@value #MIN_REFERENCE}; a sample that does
   * not decode for it is left out, one of a label it does not know counts as a wrong answer.
   *
   * @return true when the champion is calibrated (now or before)
   */
  boolean calibrate(LoadedModel champion) {
    if (fitted() != null) {
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
    window.fit(ShiftAwareEstimate.fit(confidence, correct, label, predicted, embeddings, classes, MAX_ECE));
    publish();
    return true;
  }

  /**
   * A sampled input's answer: its top-class confidence, the class it was answered as and its embedding (the spec's embedding
   * layer, as {@link #calibrate} reads it).
   */
  void add(double confidence, int predicted, float[] embedding) {
    window.add(confidence, predicted, embedding);
    publish();
  }

  private void publish() {
    ShiftAwareEstimate.Estimate e = window.estimate();
    unfamiliar = settings.holdToPrior() && e.unfamiliar();
    estimate = unfamiliar ? e.estimate() : e.plain();
    distanceRatio = e.distanceRatio();
  }

  /**
   * Whether the estimate is held to the class prior: the served inputs have read as unlike the reference for a whole window in a
   * row.
   */
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
