package dev.streamtune.evaluator.internal;

import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.learn.PageHinkley;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Outcome;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * Pure monitoring logic for one model: each outcome updates its version's window accuracy and Page-Hinkley detector; an alarm
 * yields a {@link DriftSignal} and restarts the detector so it can fire again later (the trainer's trigger policy de-duplicates).
 * Only the newest {@link #KEEP_VERSIONS} versions are kept.
 */
public final class ModelMonitor {
  static final int KEEP_VERSIONS = 5;
  private final PageHinkley detector;
  private final int accuracyWindow;

  public ModelMonitor(PageHinkley detector, int accuracyWindow) {
    this.detector = detector;
    this.accuracyWindow = accuracyWindow;
  }

  /** The state of a model: its monitored versions. */
  public record State(Map<Integer, VersionMonitor> versions) {
    public State {
      versions = new TreeMap<>(versions);
    }

    public static State empty() {
      return new State(Map.of());
    }
  }

  /** The new state, the version's monitor after the outcome, and a drift signal when the detector fired. */
  public record Update(State state, VersionMonitor version, Optional<DriftSignal> drift) {}

  public Update apply(State state, Outcome o) {
    TreeMap<Integer, VersionMonitor> versions = new TreeMap<>(state.versions());
    VersionMonitor v = versions.getOrDefault(o.version(), VersionMonitor.initial(o.version()));
    boolean right = o.correct();
    String window = v.window() + (right ? '1' : '0');
    if (window.length() > accuracyWindow) {
      window = window.substring(window.length() - accuracyWindow);
    }
    Instant at = o.labelledAt() != null ? o.labelledAt() : o.predictedAt();
    PageHinkley.Step step = detector.update(v.ph(), right ? 0.0 : 1.0);
    Instant onset = v.onset();
    double before = v.windowBeforeOnset();
    if (step.state().nAtMin() != v.ph().nAtMin() || onset == null) {
      onset = at;
      before = v.windowAccuracy();
    }
    VersionMonitor next = new VersionMonitor(o.version(), v.outcomes() + 1, v.correct() + (right ? 1 : 0), window, step.state(),
        onset, before, v.alarms());
    Optional<DriftSignal> drift = Optional.empty();
    if (step.drift()) {
      double recent = recentAccuracy(window, step.state().n() - step.state().nAtMin());
      drift = Optional.of(new DriftSignal(Versioned.CURRENT, o.model(), o.version(), DriftSignal.Kind.PERFORMANCE, PageHinkley.NAME,
          step.state().statistic(), detector.lambda(), next.outcomes(), onset, at, before, recent));
      next = new VersionMonitor(o.version(), next.outcomes(), next.correct(), window, PageHinkley.State.initial(), null,
          Double.NaN, v.alarms() + 1);
    }
    versions.put(o.version(), next);
    while (versions.size() > KEEP_VERSIONS) {
      versions.pollFirstEntry();
    }
    return new Update(new State(versions), next, drift);
  }

  private static double recentAccuracy(String window, long sinceOnset) {
    int k = (int) Math.min(window.length(), Math.max(1, sinceOnset));
    String tail = window.substring(window.length() - k);
    return tail.chars().filter(c -> c == '1').count() / (double) k;
  }
}
