package dev.streamtune.evaluator.internal;

import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.learn.KolmogorovSmirnov;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Prediction;
import dev.streamtune.evaluator.ConfidenceDrift;
import java.time.Instant;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

/**
 * Pure label-free drift check on one model version's served confidences (the top-1 probability): the first
 * {@link ConfidenceDrift#reference()} confidences after the version starts serving are its reference, the last
 * {@link ConfidenceDrift#recent()} a sliding window; once both are full, every {@link ConfidenceDrift#every()} predictions a
 * two-sample Kolmogorov–Smirnov test compares them, and p &lt; alpha yields a DATA {@link DriftSignal} ({@code statistic} = D,
 * {@code threshold} = the critical D at alpha, {@code onset} = the time of the oldest prediction in the recent window,
 * accuracies NaN: no labels are involved). After a signal the next {@link ConfidenceDrift#reference()} confidences form a
 * fresh reference, so a lasting shift signals once.
 * Confidences are kept in units of 1e-4 to keep the stored state small.
 */
public final class ConfidenceMonitor {
  static final int SCALE = 10_000;
  private final ConfidenceDrift params;

  public ConfidenceMonitor(ConfidenceDrift params) {
    this.params = Objects.requireNonNull(params, "params");
  }

  /**
   * One version's state.
   *
   * @param n predictions seen
   * @param reference the reference confidences (×1e4), sorted once full
   * @param recent the recent confidences (×1e4), oldest first
   * @param recentTimes their event times (epoch ms)
   * @param sinceCheck predictions since the last test
   * @param armedAt no test before this many predictions (set after a signal)
   * @param alarms signals so far
   */
  public record State(int version, long n, int[] reference, int[] recent, long[] recentTimes, int sinceCheck, long armedAt,
      long alarms) {
    public State {
      reference = reference == null ? new int[0] : reference.clone();
      recent = recent == null ? new int[0] : recent.clone();
      recentTimes = recentTimes == null ? new long[0] : recentTimes.clone();
    }

    public static State initial(int version) {
      return new State(version, 0, new int[0], new int[0], new long[0], 0, 0, 0);
    }

    @Override
    public int[] reference() {
      return reference.clone();
    }

    @Override
    public int[] recent() {
      return recent.clone();
    }

    @Override
    public long[] recentTimes() {
      return recentTimes.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof State s && s.version == version && s.n == n && Arrays.equals(s.reference, reference)
          && Arrays.equals(s.recent, recent) && Arrays.equals(s.recentTimes, recentTimes) && s.sinceCheck == sinceCheck
          && s.armedAt == armedAt && s.alarms == alarms;
    }

    @Override
    public int hashCode() {
      return Objects.hash(version, n, Arrays.hashCode(reference), Arrays.hashCode(recent), sinceCheck, armedAt, alarms);
    }

    @Override
    public String toString() {
      return "ConfidenceMonitor.State[version=" + version + ", n=" + n + ", reference=" + reference.length + ", recent="
          + recent.length + ", armedAt=" + armedAt + ", alarms=" + alarms + "]";
    }
  }

  /**
   * The state after one prediction, a signal when the test rejected, and the test itself when one ran on this prediction
   * ({@code {D, critical D at alpha, p-value}}; null otherwise), what the quality dashboard charts.
   */
  public record Update(State state, Optional<DriftSignal> drift, double[] test) {
    public Update(State state, Optional<DriftSignal> drift) {
      this(state, drift, null);
    }
  }

  public Update apply(State s, Prediction p) {
    int c = (int) Math.round(Math.min(1, Math.max(0, p.confidence())) * SCALE);
    long n = s.n() + 1;
    if (s.reference.length < params.reference()) {
      int[] ref = Arrays.copyOf(s.reference, s.reference.length + 1);
      ref[s.reference.length] = c;
      if (ref.length == params.reference()) {
        Arrays.sort(ref);
      }
      return new Update(new State(s.version(), n, ref, s.recent, s.recentTimes, 0, s.armedAt(), s.alarms()), Optional.empty());
    }
    int keep = Math.min(s.recent.length, params.recent() - 1);
    int[] recent = new int[keep + 1];
    long[] times = new long[keep + 1];
    System.arraycopy(s.recent, s.recent.length - keep, recent, 0, keep);
    System.arraycopy(s.recentTimes, s.recentTimes.length - keep, times, 0, keep);
    recent[keep] = c;
    times[keep] = p.timestamp().toEpochMilli();
    int sinceCheck = s.sinceCheck() + 1;
    if (recent.length < params.recent() || sinceCheck < params.every() || n < s.armedAt()) {
      return new Update(new State(s.version(), n, s.reference, recent, times, sinceCheck, s.armedAt(), s.alarms()),
          Optional.empty());
    }
    KolmogorovSmirnov.Result r = KolmogorovSmirnov.test(scaled(s.reference), scaled(recent));
    double critical = KolmogorovSmirnov.criticalD(r.n(), r.m(), params.alpha());
    double[] test = {r.d(), critical, r.pValue()};
    if (!(r.pValue() < params.alpha())) {
      return new Update(new State(s.version(), n, s.reference, recent, times, 0, s.armedAt(), s.alarms()), Optional.empty(),
          test);
    }
    DriftSignal d = new DriftSignal(Versioned.CURRENT, p.model(), p.version(), DriftSignal.Kind.DATA, ConfidenceDrift.NAME, r.d(),
        critical, n, Instant.ofEpochMilli(times[0]), p.timestamp(), Double.NaN, Double.NaN);
    // the shifted confidences are the new normal: the next predictions form a fresh reference, so a lasting shift signals
    // once and a further shift signals again
    return new Update(new State(s.version(), n, new int[0], new int[0], new long[0], 0, 0, s.alarms() + 1), Optional.of(d),
        test);
  }

  private static double[] scaled(int[] v) {
    double[] d = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      d[i] = v[i] / (double) SCALE;
    }
    return d;
  }
}
