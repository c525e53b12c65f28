package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.Objects;

/**
 * A drift alarm on {@code drift}, keyed by model name.
 *
 * @param kind performance (from labelled outcomes) or data (label-free, from predictions alone)
 * @param detector the detector that fired: page-hinkley, ddm or adwin (performance), confidence-ks (data)
 * @param statistic the detector's statistic when it fired (Page-Hinkley: m_t - M_t; DDM: (p + s - pMin) / sMin; ADWIN: the
 *     difference of the two sub-window means; confidence-ks: the Kolmogorov–Smirnov D)
 * @param threshold the threshold it crossed (lambda; the drift level; the cut bound; the critical D at alpha)
 * @param window the number of outcomes (performance) or predictions (data) the evaluator had seen for this version
 * @param onset the estimated start of the shift: for a performance signal the time of the outcome where the detector places
 *     the change (its statistic's minimum, or ADWIN's cut), no earlier than the oldest outcome of the accuracy window; for a
 *     data signal the time of the oldest prediction in the recent window
 * @param detectedAt when it fired (the event time of the outcome or prediction that made it fire)
 * @param accuracyBefore windowed accuracy up to the onset, accuracyRecent after it (NaN when unknown, always for data signals)
 */
public record DriftSignal(int schema, String model, int version, Kind kind, String detector, double statistic, double threshold,
    long window, Instant onset, Instant detectedAt, double accuracyBefore, double accuracyRecent) implements Versioned {
  public enum Kind { PERFORMANCE, DATA }

  public DriftSignal {
    Versioned.check(schema, "drift");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(kind, "kind");
    Objects.requireNonNull(detector, "detector");
    Objects.requireNonNull(onset, "onset");
    Objects.requireNonNull(detectedAt, "detectedAt");
  }
}
