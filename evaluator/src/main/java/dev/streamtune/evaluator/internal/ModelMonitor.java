package dev.streamtune.evaluator.internal;

import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.learn.Adwin;
import dev.streamtune.core.learn.Ddm;
import dev.streamtune.core.learn.PageHinkley;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Outcome;
import dev.streamtune.evaluator.DriftDetectors;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Pure monitoring logic for one model: each outcome updates its version's window accuracy and every configured detector (one
 * state per detector per version); each alarm yields its own {@link DriftSignal} (with {@code detector} set) and restarts that
 * detector so it can fire again later (the trainer's trigger policy de-duplicates). Only the newest {@link #KEEP_VERSIONS}
 * versions are kept.
 *
 * <p>Onset: Page-Hinkley and DDM place it at the outcome at their statistic's minimum ({@code accuracyBefore} is the window
 * accuracy then, {@code accuracyRecent} the accuracy of the outcomes since, up to the window); ADWIN at the first outcome of
 * the window it kept after the cut, clamped to the accuracy window ({@code accuracyBefore} over the window's outcomes before
 * it, {@code accuracyRecent} from it on).
 *
 * <p>Class mix: served traffic comes in runs of one kind of image and its mix moves, and error rates differ by class (shirts
 * are hard, trousers easy), so a run of a hard class raised the plain error stream's mean and Page-Hinkley with it (31 false
 * alarms per 100,000 labelled stationary outcomes in class runs, {@code bench drift}). Over a version's first
 * {@link #CLASS_REFERENCE} outcomes the monitor learns each true class's error rate; from then on Page-Hinkley reads
 * {@code error − rate(class) + overall rate}, whose mean does not move with the mix but rises with errors within classes.
 */
public final class ModelMonitor {
  static final int KEEP_VERSIONS = 5;
  /** A version's first outcomes that set each class's error rate, for the mix-adjusted Page-Hinkley stream. */
  static final int CLASS_REFERENCE = 1_000;
  /** Pseudo-outcomes at the overall rate that a class's rate starts from (a class seen little stays near the overall rate). */
  static final double CLASS_PRIOR = 20;
  /** Distinct classes a version's reference tracks; a record cannot grow the state beyond this. */
  static final int MAX_CLASSES = 1_000;
  private final DriftDetectors detectors;
  private final int accuracyWindow;

  public ModelMonitor(DriftDetectors detectors, int accuracyWindow) {
    this.detectors = detectors;
    this.accuracyWindow = accuracyWindow;
  }

  /** Page-Hinkley alone. */
  public ModelMonitor(PageHinkley detector, int accuracyWindow) {
    this(DriftDetectors.pageHinkleyOnly(detector), accuracyWindow);
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

  /** The new state, the version's monitor after the outcome, and the drift signals of the detectors that fired (often none). */
  /**
   * @param statistics each detector's statistic after this outcome, the threshold it fires at and the outcomes its statistic
   *     covers ({@code {statistic, threshold, window}}: since its last reset for Page-Hinkley and DDM, ADWIN's window), what
   *     the quality dashboard charts
   */
  public record Update(State state, VersionMonitor version, List<DriftSignal> drifts, Map<String, double[]> statistics) {
    public Update {
      drifts = List.copyOf(drifts);
      statistics = Map.copyOf(statistics);
    }
  }

  /**
   * An outcome's error ({@code x}, 1 = wrong) less its true class's reference error rate, plus the overall reference rate: the
   * same mean whatever the class mix. A class the reference saw little is drawn to the overall rate ({@link #CLASS_PRIOR}).
   */
  static double mixAdjusted(double x, String label, Map<String, long[]> classes) {
    long n = 0;
    long errors = 0;
    for (long[] st : classes.values()) {
      n += st[0];
      errors += st[1];
    }
    if (n == 0) {
      return x;
    }
    double overall = errors / (double) n;
    long[] st = classes.get(label);
    double rate = st == null ? overall : (st[1] + CLASS_PRIOR * overall) / (st[0] + CLASS_PRIOR);
    return x - rate + overall;
  }

  public Update apply(State state, Outcome o) {
    TreeMap<Integer, VersionMonitor> versions = new TreeMap<>(state.versions());
    VersionMonitor v = versions.getOrDefault(o.version(), VersionMonitor.initial(o.version()));
    boolean right = o.correct();
    Instant at = o.labelledAt() != null ? o.labelledAt() : o.predictedAt();
    String window = v.window() + (right ? '1' : '0');
    long[] old = v.times();
    long[] times = Arrays.copyOf(old, old.length + 1);
    times[old.length] = at.toEpochMilli();
    if (window.length() > accuracyWindow) {
      int drop = window.length() - accuracyWindow;
      window = window.substring(drop);
      times = Arrays.copyOfRange(times, drop, times.length);
    }
    long outcomes = v.outcomes() + 1;
    double x = right ? 0.0 : 1.0;
    List<DriftSignal> drifts = new ArrayList<>();
    Map<String, VersionMonitor.Onset> onsets = new HashMap<>(v.onsets());
    Map<String, double[]> statistics = new HashMap<>();

    Map<String, long[]> classes = v.classes();
    if (v.outcomes() < CLASS_REFERENCE) {
      long[] st = classes.get(o.actual());
      if (st != null || classes.size() < MAX_CLASSES) {
        classes = new HashMap<>(classes);
        classes.put(o.actual(), st == null ? new long[] {1, right ? 0 : 1} : new long[] {st[0] + 1, st[1] + (right ? 0 : 1)});
      }
    }
    PageHinkley.State ph = null;
    if (detectors.uses(PageHinkley.NAME)) {
      double adjusted = v.outcomes() < CLASS_REFERENCE ? x : mixAdjusted(x, o.actual(), v.classes());
      PageHinkley.Step step = detectors.pageHinkley().update(v.ph() == null ? PageHinkley.State.initial() : v.ph(), adjusted);
      ph = step.state();
      statistics.put(PageHinkley.NAME, new double[] {ph.statistic(), detectors.pageHinkley().lambda(), ph.n()});
      mark(onsets, PageHinkley.NAME, ph.n(), ph.nAtMin(), at, v);
      if (step.drift()) {
        drifts.add(signal(o, PageHinkley.NAME, ph.statistic(), detectors.pageHinkley().lambda(), outcomes, at, window,
            onsets.remove(PageHinkley.NAME), ph.n() - ph.nAtMin()));
        ph = PageHinkley.State.initial();
      }
    }
    Ddm.State ddm = null;
    if (detectors.uses(Ddm.NAME)) {
      Ddm.Step step = detectors.ddm().update(v.ddm() == null ? Ddm.State.initial() : v.ddm(), x);
      ddm = step.state();
      statistics.put(Ddm.NAME, new double[] {step.statistic(), detectors.ddm().driftLevel(), ddm.n()});
      mark(onsets, Ddm.NAME, ddm.n(), ddm.nAtMin(), at, v);
      if (step.drift()) {
        drifts.add(signal(o, Ddm.NAME, step.statistic(), detectors.ddm().driftLevel(), outcomes, at, window,
            onsets.remove(Ddm.NAME), ddm.n() - ddm.nAtMin()));
        ddm = Ddm.State.initial();
      }
    }
    Adwin.State adwin = null;
    if (detectors.uses(Adwin.NAME)) {
      Adwin.Step step = detectors.adwin().update(v.adwin() == null ? Adwin.State.initial() : v.adwin(), x);
      adwin = step.state();
      statistics.put(Adwin.NAME, new double[] {step.statistic(), step.threshold(), adwin.window().length});
      if (step.drift()) {
        drifts.add(adwinSignal(o, step, outcomes, at, window, times));
        adwin = Adwin.State.initial();
      }
    }
    VersionMonitor next = new VersionMonitor(o.version(), outcomes, v.correct() + (right ? 1 : 0), window, times, ph, ddm, adwin,
        onsets, v.alarms() + drifts.size(), classes);
    versions.put(o.version(), next);
    while (versions.size() > KEEP_VERSIONS) {
      versions.pollFirstEntry();
    }
    return new Update(new State(versions), next, drifts, statistics);
  }

  /** Moves a detector's onset mark to this outcome when its minimum moved here (or when it has none yet). */
  private static void mark(Map<String, VersionMonitor.Onset> onsets, String detector, long n, long nAtMin, Instant at,
      VersionMonitor before) {
    if (nAtMin == n || !onsets.containsKey(detector)) {
      onsets.put(detector, new VersionMonitor.Onset(at, before.windowAccuracy()));
    }
  }

  /** A signal of a detector with a running minimum: onset and accuracy before from its mark, recent since the minimum. */
  private static DriftSignal signal(Outcome o, String detector, double statistic, double threshold, long outcomes, Instant at,
      String window, VersionMonitor.Onset onset, long sinceMin) {
    Instant onsetAt = onset == null ? at : onset.at();
    double before = onset == null ? Double.NaN : onset.windowAccuracy();
    int k = (int) Math.min(window.length(), Math.max(1, sinceMin));
    return new DriftSignal(Versioned.CURRENT, o.model(), o.version(), DriftSignal.Kind.PERFORMANCE, detector, statistic, threshold,
        outcomes, onsetAt, at, before, accuracy(window.substring(window.length() - k)));
  }

  /**
   * An ADWIN signal: the onset is the first outcome of the window ADWIN kept after the cut, clamped to the accuracy window;
   * accuracy before covers the accuracy window before it (NaN when fewer than 10 outcomes), accuracy recent from it on.
   */
  private static DriftSignal adwinSignal(Outcome o, Adwin.Step step, long outcomes, Instant at, String window, long[] times) {
    int len = window.length();
    int onsetIndex = Math.max(0, len - Math.max(1, step.recent()));
    double before = onsetIndex < 10 ? Double.NaN : accuracy(window.substring(0, onsetIndex));
    return new DriftSignal(Versioned.CURRENT, o.model(), o.version(), DriftSignal.Kind.PERFORMANCE, Adwin.NAME, step.statistic(),
        step.threshold(), outcomes, Instant.ofEpochMilli(times[onsetIndex]), at, before, accuracy(window.substring(onsetIndex)));
  }

  private static double accuracy(String w) {
    return w.isEmpty() ? Double.NaN : w.chars().filter(c -> c == '1').count() / (double) w.length();
  }
}
