package dev.streamtune.evaluator.internal;

import dev.streamtune.core.learn.Adwin;
import dev.streamtune.core.learn.Ddm;
import dev.streamtune.core.learn.PageHinkley;
import java.time.Instant;
import java.util.Arrays;
import java.util.Map;

/**
 * What the evaluator knows of one model version's live outcomes: totals, the last outcomes (a window of '1' right / '0' wrong)
 * with their event times (epoch ms, aligned with the window), the state of each configured detector on its error stream
 * (null for a detector not in use), per detector with a running minimum where it places the onset and, over the version's
 * first {@link ModelMonitor#CLASS_REFERENCE} outcomes, each true class's outcomes and errors ({@code classes}: label →
 * {@code {outcomes, errors}}), from which Page-Hinkley's error stream is adjusted for the class mix. Immutable; stored as JSON in a Kafka Streams store. A state stored by 0.1 (window without
 * times, Page-Hinkley only) is read with an empty window and its Page-Hinkley state kept.
 */
public record VersionMonitor(int version, long outcomes, long correct, String window, long[] times, PageHinkley.State ph,
    Ddm.State ddm, Adwin.State adwin, Map<String, Onset> onsets, long alarms, Map<String, long[]> classes) {
  /**
   * Where a detector with a running minimum (Page-Hinkley, DDM) last placed the onset.
   *
   * @param at the time of the outcome at the minimum
   * @param windowAccuracy the window accuracy just before that outcome
   */
  public record Onset(Instant at, double windowAccuracy) {}

  public VersionMonitor {
    onsets = onsets == null ? Map.of() : Map.copyOf(onsets);
    classes = classes == null ? Map.of() : Map.copyOf(classes);
    window = window == null ? "" : window;
    times = times == null ? new long[0] : times.clone();
    // a state written before times were kept (0.1) has a window without times: keep only the aligned tail
    if (times.length != window.length()) {
      int n = Math.min(times.length, window.length());
      window = window.substring(window.length() - n);
      times = java.util.Arrays.copyOfRange(times, times.length - n, times.length);
    }
  }

  public static VersionMonitor initial(int version) {
    return new VersionMonitor(version, 0, 0, "", new long[0], null, null, null, Map.of(), 0, Map.of());
  }

  @Override
  public long[] times() {
    return times.clone();
  }

  public double windowAccuracy() {
    if (window.isEmpty()) {
      return Double.NaN;
    }
    long ok = window.chars().filter(c -> c == '1').count();
    return ok / (double) window.length();
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof VersionMonitor v && v.version == version && v.outcomes == outcomes && v.correct == correct
        && v.window.equals(window) && Arrays.equals(v.times, times) && java.util.Objects.equals(v.ph, ph)
        && java.util.Objects.equals(v.ddm, ddm) && java.util.Objects.equals(v.adwin, adwin) && v.onsets.equals(onsets)
        && v.alarms == alarms && v.classes.keySet().equals(classes.keySet())
        && classes.entrySet().stream().allMatch(e -> Arrays.equals(e.getValue(), v.classes.get(e.getKey())));
  }

  @Override
  public int hashCode() {
    return java.util.Objects.hash(version, outcomes, correct, window, Arrays.hashCode(times), ph, ddm, adwin, onsets, alarms);
  }
}
