package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.Objects;

/**
 * A drift alarm on {@code drift}, keyed by model name.
 *
 * @param kind performance (from labelled outcomes) or data (label-free)
 * @param detector the detector that fired, e.g. page-hinkley
 * @param statistic the detector's statistic when it fired
 * @param threshold the threshold it crossed
 * @param window the number of outcomes the detector had seen for this version
 * @param onset the estimated start of the shift (the time of the first outcome after the statistic's last minimum)
 * @param detectedAt when it fired (the event time of the outcome that made it fire)
 * @param accuracyBefore windowed accuracy before the onset, accuracyRecent since it (NaN when unknown)
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
