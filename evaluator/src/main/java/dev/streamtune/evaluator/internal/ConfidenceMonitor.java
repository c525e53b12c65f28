package dev.streamtune.evaluator.internal;

import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.learn.ClassConditionalKs;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Prediction;
import dev.streamtune.evaluator.ConfidenceDrift;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Pure label-free drift check on one model version's served confidences (the top-1 probability), <em>within the predicted
 * class</em>: the first {@link ConfidenceDrift#reference()} predictions after the version starts serving are its reference,
 * the last {@link ConfidenceDrift#recent()} a sliding window; once both are full, every {@link ConfidenceDrift#every()}
 * predictions core's {@link ClassConditionalKs} ranks each recent confidence among the reference confidences of its own
 * predicted class and tests the ranks against the uniform distribution. So a change of class mix (clients sending runs of one
 * kind of image, a prior shift) is no alarm, and a change within classes (a new camera, lighting, corruption) is. A rejection
 * (p &lt; alpha) yields a DATA {@link DriftSignal} ({@code statistic} = D, {@code threshold} = the critical D at alpha,
 * {@code onset} = the time of the oldest prediction in the recent window, accuracies NaN: no labels are involved). After a
 * signal the next {@link ConfidenceDrift#reference()} predictions form a fresh reference, so a lasting shift signals once.
 *
 * <p>False alarms: each test rejects a stationary stream with probability at most alpha, so the expected number of predictions
 * between false alarms is at least {@code every / alpha} (1,000,000 by default; overlapping windows make successive tests
 * agree, which only lengthens it). Confidences are kept in units of 1e-4 to keep the stored state small; a predicted label is
 * kept as an index into the state's label list (at most {@link #MAX_LABELS}; further labels share one class).
 */
public final class ConfidenceMonitor {
  static final int SCALE = 10_000;
  /** Distinct predicted labels a state tracks; a record cannot grow the state beyond this. */
  static final int MAX_LABELS = 1_000;
  /** Reference predictions a class needs before its recent predictions are tested. */
  static final int MIN_PER_CLASS = 5;
  private final ConfidenceDrift params;

  public ConfidenceMonitor(ConfidenceDrift params) {
    this.params = Objects.requireNonNull(params, "params");
  }

  /**
   * One version's state.
   *
   * @param n predictions seen
   * @param labels the predicted labels seen, in order of first sight: a class is an index into it
   * @param reference the reference confidences (×1e4), with {@code referenceClasses} their predicted classes
   * @param recent the recent confidences (×1e4), oldest first, with {@code recentClasses} and their event times (epoch ms)
   * @param sinceCheck predictions since the last test
   * @param armedAt no test before this many predictions (set after a signal)
   * @param alarms signals so far
   */
  public record State(int version, long n, List<String> labels, int[] reference, int[] referenceClasses, int[] recent,
      int[] recentClasses, long[] recentTimes, int sinceCheck, long armedAt, long alarms) {
    public State {
      labels = labels == null ? List.of() : List.copyOf(labels);
      reference = reference == null ? new int[0] : reference.clone();
      referenceClasses = referenceClasses == null ? new int[0] : referenceClasses.clone();
      recent = recent == null ? new int[0] : recent.clone();
      recentClasses = recentClasses == null ? new int[0] : recentClasses.clone();
      recentTimes = recentTimes == null ? new long[0] : recentTimes.clone();
    }

    public static State initial(int version) {
      return new State(version, 0, List.of(), new int[0], new int[0], new int[0], new int[0], new long[0], 0, 0, 0);
    }

    /** A state written before classes were kept (or damaged): its windows cannot be tested by class. */
    boolean consistent() {
      return referenceClasses.length == reference.length && recentClasses.length == recent.length
          && recentTimes.length == recent.length;
    }

    @Override
    public int[] reference() {
      return reference.clone();
    }

    @Override
    public int[] referenceClasses() {
      return referenceClasses.clone();
    }

    @Override
    public int[] recent() {
      return recent.clone();
    }

    @Override
    public int[] recentClasses() {
      return recentClasses.clone();
    }

    @Override
    public long[] recentTimes() {
      return recentTimes.clone();
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof State s && s.version == version && s.n == n && s.labels.equals(labels)
          && Arrays.equals(s.reference, reference) && Arrays.equals(s.referenceClasses, referenceClasses)
          && Arrays.equals(s.recent, recent) && Arrays.equals(s.recentClasses, recentClasses)
          && Arrays.equals(s.recentTimes, recentTimes) && s.sinceCheck == sinceCheck && s.armedAt == armedAt
          && s.alarms == alarms;
    }

    @Override
    public int hashCode() {
      return Objects.hash(version, n, labels, Arrays.hashCode(reference), Arrays.hashCode(recent), sinceCheck, armedAt, alarms);
    }

    @Override
    public String toString() {
      return "ConfidenceMonitor.State[version=" + version + ", n=" + n + ", labels=" + labels.size() + ", reference="
          + reference.length + ", recent=" + recent.length + ", armedAt=" + armedAt + ", alarms=" + alarms + "]";
    }
  }

  /**
   * The state after one prediction, a signal when the test rejected, and the test itself when one ran on this prediction
   * ({@code {D, critical D at alpha, p-value, recent values tested}}; null otherwise), what the quality dashboard charts.
   */
  public record Update(State state, Optional<DriftSignal> drift, double[] test) {
    public Update(State state, Optional<DriftSignal> drift) {
      this(state, drift, null);
    }
  }

  public Update apply(State s, Prediction p) {
    if (!s.consistent()) {
      s = new State(s.version(), s.n(), List.of(), null, null, null, null, null, 0, s.armedAt(), s.alarms());
    }
    int c = (int) Math.round(Math.min(1, Math.max(0, p.confidence())) * SCALE);
    long n = s.n() + 1;
    List<String> labels = s.labels();
    String top = p.topK().isEmpty() ? "" : p.topK().get(0).label();
    int cls = labels.indexOf(top);
    if (cls < 0) {
      if (labels.size() < MAX_LABELS) {
        labels = new ArrayList<>(labels);
        labels.add(top);
        cls = labels.size() - 1;
      } else {
        cls = MAX_LABELS - 1; // the last class holds every further label
      }
    }
    if (s.reference.length < params.reference()) {
      int[] ref = Arrays.copyOf(s.reference, s.reference.length + 1);
      int[] refClasses = Arrays.copyOf(s.referenceClasses, s.referenceClasses.length + 1);
      ref[s.reference.length] = c;
      refClasses[s.reference.length] = cls;
      return new Update(new State(s.version(), n, labels, ref, refClasses, s.recent, s.recentClasses, s.recentTimes, 0,
          s.armedAt(), s.alarms()), Optional.empty());
    }
    int keep = Math.min(s.recent.length, params.recent() - 1);
    int[] recent = append(s.recent, keep, c);
    int[] recentClasses = append(s.recentClasses, keep, cls);
    long[] times = new long[keep + 1];
    System.arraycopy(s.recentTimes, s.recentTimes.length - keep, times, 0, keep);
    times[keep] = p.timestamp().toEpochMilli();
    int sinceCheck = s.sinceCheck() + 1;
    if (recent.length < params.recent() || sinceCheck < params.every() || n < s.armedAt()) {
      return new Update(new State(s.version(), n, labels, s.reference, s.referenceClasses, recent, recentClasses, times,
          sinceCheck, s.armedAt(), s.alarms()), Optional.empty());
    }
    long[] sequence = new long[recent.length]; // each prediction's place in the stream: its tie-breaking draw
    for (int i = 0; i < recent.length; i++) {
      sequence[i] = n - recent.length + 1 + i;
    }
    ClassConditionalKs.Result r = ClassConditionalKs.test(scaled(s.reference), s.referenceClasses, scaled(recent), recentClasses,
        sequence, params.alpha(), MIN_PER_CLASS, Math.max(10, params.recent() / 2));
    if (r == null) { // too few recent predictions of classes the reference knows: no test
      return new Update(new State(s.version(), n, labels, s.reference, s.referenceClasses, recent, recentClasses, times, 0,
          s.armedAt(), s.alarms()), Optional.empty());
    }
    double[] test = {r.d(), r.critical(), r.pValue(), r.judged()};
    if (!(r.pValue() < params.alpha())) {
      return new Update(new State(s.version(), n, labels, s.reference, s.referenceClasses, recent, recentClasses, times, 0,
          s.armedAt(), s.alarms()), Optional.empty(), test);
    }
    DriftSignal d = new DriftSignal(Versioned.CURRENT, p.model(), p.version(), DriftSignal.Kind.DATA, ConfidenceDrift.NAME, r.d(),
        r.critical(), n, Instant.ofEpochMilli(times[0]), p.timestamp(), Double.NaN, Double.NaN);
    // the shifted confidences are the new normal: the next predictions form a fresh reference, so a lasting shift signals
    // once and a further shift signals again
    return new Update(new State(s.version(), n, labels, null, null, null, null, null, 0, 0, s.alarms() + 1), Optional.of(d),
        test);
  }

  /** The last {@code keep} values of {@code old}, then {@code value}. */
  private static int[] append(int[] old, int keep, int value) {
    int[] out = new int[keep + 1];
    System.arraycopy(old, old.length - keep, out, 0, keep);
    out[keep] = value;
    return out;
  }

  private static double[] scaled(int[] v) {
    double[] d = new double[v.length];
    for (int i = 0; i < v.length; i++) {
      d[i] = v[i] / (double) SCALE;
    }
    return d;
  }
}
