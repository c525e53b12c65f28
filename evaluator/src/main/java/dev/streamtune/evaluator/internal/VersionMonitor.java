package dev.streamtune.evaluator.internal;

import dev.streamtune.core.learn.PageHinkley;
import java.time.Instant;

/**
 * What the evaluator knows of one model version's live outcomes: totals, the last outcomes (a window of '1' right / '0' wrong),
 * and the Page-Hinkley state on its error stream. Immutable; stored as JSON in a Kafka Streams store.
 *
 * @param onset the time of the outcome at the detector's minimum: where a shift most likely began
 * @param windowBeforeOnset the window accuracy when the onset was last moved
 */
public record VersionMonitor(int version, long outcomes, long correct, String window, PageHinkley.State ph, Instant onset,
    double windowBeforeOnset, long alarms) {
  public static VersionMonitor initial(int version) {
    return new VersionMonitor(version, 0, 0, "", PageHinkley.State.initial(), null, Double.NaN, 0);
  }

  public double windowAccuracy() {
    if (window.isEmpty()) {
      return Double.NaN;
    }
    long ok = window.chars().filter(c -> c == '1').count();
    return ok / (double) window.length();
  }
}
