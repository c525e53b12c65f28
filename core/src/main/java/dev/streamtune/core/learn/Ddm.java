package dev.streamtune.core.learn;

/**
 * The Drift Detection Method (Gama, Medas, Castillo and Rodrigues, 2004) on the 0/1 error stream of a model version. After
 * {@code i} values the error rate is {@code p} and its standard deviation {@code s = sqrt(p(1-p)/i)}; the detector remembers the
 * point where {@code p + s} was lowest ({@code pMin}, {@code sMin}) and warns at {@code p + s >= pMin + warningLevel·sMin}, fires at
 * {@code p + s >= pMin + driftLevel·sMin}. Pure and thread-safe: the state is an immutable value, so it can live in a Kafka
 * Streams store as JSON.
 *
 * <p>The paper's levels are 2 and 3 with 30 samples before the minimum is tracked; on a long stationary stream these raise false
 * alarms (the minimum is set at a lucky low point of the running error rate and the later random walk crosses 3σ above it). The
 * {@link #defaults()} are therefore stricter: warning at 3σ, drift at 4.5σ, and no minimum before 500 samples; with them 100,000
 * stationary Bernoulli(0.13) outcomes raise no alarm (see {@code DdmTest}). A minimum is also never taken while {@code s == 0}
 * (no error or no success yet), which would make the next error an alarm.
 *
 * @param warningLevel the warning threshold in units of {@code sMin}
 * @param driftLevel the drift threshold in units of {@code sMin}, above the warning level
 * @param minSamples values seen before the minimum is tracked and an alarm may fire
 */
public record Ddm(double warningLevel, double driftLevel, int minSamples) {
  public static final String NAME = "ddm";

  public Ddm {
    if (!(warningLevel > 0) || !(driftLevel > warningLevel) || minSamples < 2) {
      throw new IllegalArgumentException("ddm needs 0 < warningLevel < driftLevel and minSamples >= 2; was " + warningLevel + ", "
          + driftLevel + ", " + minSamples);
    }
  }

  /** Warning at 3σ, drift at 4.5σ, 500 samples before tracking: no false alarm on 100,000 stationary outcomes. */
  public static Ddm defaults() {
    return new Ddm(3.0, 4.5, 500);
  }

  /**
   * Detector state.
   *
   * @param n values seen
   * @param sum sum of the values (errors)
   * @param pMin the error rate at the minimum of {@code p + s} (meaningless while {@code nAtMin == 0})
   * @param sMin the standard deviation there
   * @param nAtMin the value count at the minimum, 0 before one is tracked: the estimated onset
   * @param warningSince the value count where the current warning began, 0 when not warning
   */
  public record State(long n, double sum, double pMin, double sMin, long nAtMin, long warningSince) {
    public static State initial() {
      return new State(0, 0, 0, 0, 0, 0);
    }

    /** The error rate so far, NaN before any value. */
    public double errorRate() {
      return n == 0 ? Double.NaN : sum / n;
    }
  }

  /**
   * The state after one more value.
   *
   * @param warning the value is in the warning zone
   * @param drift the detector fires
   * @param statistic {@code (p + s - pMin) / sMin}, the distance above the minimum in units of {@code sMin} (0 when untracked)
   */
  public record Step(State state, boolean warning, boolean drift, double statistic) {}

  /** Adds a value in [0,1] (1 = an error); rejects others. */
  public Step update(State st, double x) {
    if (!(x >= 0 && x <= 1)) {
      throw new IllegalArgumentException("ddm takes values in [0,1], was " + x);
    }
    long n = st.n() + 1;
    double sum = st.sum() + x;
    double p = sum / n;
    double s = Math.sqrt(p * (1 - p) / n);
    if (n < minSamples) {
      return new Step(new State(n, sum, st.pMin(), st.sMin(), st.nAtMin(), 0), false, false, 0);
    }
    double pMin = st.pMin();
    double sMin = st.sMin();
    long nAtMin = st.nAtMin();
    if (s > 0 && (nAtMin == 0 || p + s < pMin + sMin)) {
      pMin = p;
      sMin = s;
      nAtMin = n;
    }
    if (nAtMin == 0) {
      return new Step(new State(n, sum, pMin, sMin, nAtMin, 0), false, false, 0);
    }
    double statistic = (p + s - pMin) / sMin;
    boolean drift = statistic >= driftLevel;
    boolean warning = !drift && statistic >= warningLevel;
    long warningSince = warning || drift ? (st.warningSince() == 0 ? n : st.warningSince()) : 0;
    return new Step(new State(n, sum, pMin, sMin, nAtMin, warningSince), warning, drift, statistic);
  }
}
