package dev.streamtune.evaluator.internal;

import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.learn.ConfidenceCalibration;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Networks;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The champion's accuracy on served traffic estimated before labels arrive (CBPE): its top-class confidence on the sampled
 * served inputs, calibrated on held-out labelled samples it never trained on. Once a version is the champion and at least
 * {@value #MIN_REFERENCE} held-out samples have arrived, the newest of them (up to {@value #REFERENCE}) are its reference: its
 * answers on them fit a {@link ConfidenceCalibration} once, kept for the version (refitting on later labels would turn the
 * estimate into the labelled accuracy). The estimate is the mean calibrated confidence over the last {@value #WINDOW} sampled
 * inputs. It reads the confidence, so it misses a change of the labelling rule itself, which only the supervised detectors see.
 * Used by the feature-drift thread only; not thread-safe, except {@link #estimate()}.
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
  private int seen;
  private int version = -1;
  private ConfidenceCalibration calibration;
  private volatile double estimate = Double.NaN;
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
    calibration = null;
    seen = 0;
    estimate = Double.NaN;
  }

  int version() {
    return version;
  }

  /** The calibration of the champion, null until fitted. */
  ConfidenceCalibration calibration() {
    return calibration;
  }

  /**
   * Fits the champion's calibration on the held-out samples at hand, once there are {@value #MIN_REFERENCE}; a sample that does
   * not decode for it is left out, one of a label it does not know counts as a wrong answer.
   *
   * @return true when the champion is calibrated (now or before)
   */
  boolean calibrate(LoadedModel champion) {
    if (calibration != null) {
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
    double[] confidence = new double[images.size()];
    boolean[] correct = new boolean[images.size()];
    for (int from = 0; from < images.size(); from += 64) {
      List<float[]> part = images.subList(from, Math.min(images.size(), from + 64));
      INDArray out = champion.network().output(pre.batch(part));
      int[] predicted = Networks.argMax(out);
      for (int i = 0; i < part.size(); i++) {
        confidence[from + i] = Math.min(1, Math.max(0, out.getDouble(i, predicted[i])));
        correct[from + i] = champion.spec().labels().get(predicted[i]).equals(labels.get(from + i));
      }
    }
    calibration = ConfidenceCalibration.fit(confidence, correct, MAX_ECE);
    update();
    return true;
  }

  /** The top-class confidence of a sampled served input. */
  void addConfidence(double c) {
    window[seen % WINDOW] = Math.min(1, Math.max(0, c));
    seen++;
    update();
  }

  private void update() {
    int n = Math.min(seen, WINDOW);
    if (calibration == null || n < MIN_WINDOW) {
      estimate = Double.NaN;
      return;
    }
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += calibration.apply(window[i]);
    }
    estimate = s / n;
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
