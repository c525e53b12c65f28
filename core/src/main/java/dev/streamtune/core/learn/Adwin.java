package dev.streamtune.core.learn;

import java.util.Arrays;

/**
 * ADWIN, adaptive windowing (Bifet and Gavaldà, 2007), in its <em>bounded explicit-window</em> variant: the state keeps the last
 * {@code maxWindow} values themselves (not ADWIN2's exponential histogram of buckets), and after every value it tests splits
 * of the window into an older part W0 and a newer part W1, both at least {@code minSubWindow} long (at geometrically spaced
 * points, a few tens per value), with the paper's
 * variance-aware Hoeffding/Bernstein cut: {@code |μ0 - μ1| > sqrt(2/m · σ² · ln(2/δ')) + 2/(3m) · ln(2/δ')}, where
 * {@code m = 1/(1/n0 + 1/n1)}, σ² the variance of the whole window and {@code δ' = δ/n} for a window of n values. When a cut
 * holds, the older part is dropped (repeatedly, until no cut holds). The detector fires only when a cut shows the newer part's
 * mean <em>above</em> the older one (more errors); a cut the other way only shrinks the window. The cost is O(maxWindow) per
 * value (a copy and a sum). Pure and thread-safe: the state is an immutable value, stored as JSON.
 *
 * <p>{@link #defaults()}: δ = 0.002, window capped at 2,000 values, sub-windows of at least 30; with them 100,000 stationary
 * Bernoulli(0.13) values raise no alarm (see {@code AdwinTest}).
 *
 * @param delta the confidence parameter δ of the cut test, in (0, 1)
 * @param maxWindow the most values kept; the oldest is dropped beyond it
 * @param minSubWindow the least values on either side of a split
 */
public record Adwin(double delta, int maxWindow, int minSubWindow) {
  public static final String NAME = "adwin";

  public Adwin {
    if (!(delta > 0 && delta < 1) || minSubWindow < 1 || maxWindow < 2 * minSubWindow) {
      throw new IllegalArgumentException("adwin needs 0 < delta < 1, minSubWindow >= 1, maxWindow >= 2·minSubWindow; was " + delta
          + ", " + maxWindow + ", " + minSubWindow);
    }
  }

  /** δ 0.002, window ≤ 2,000, sub-windows ≥ 30: no false alarm on 100,000 stationary outcomes. */
  public static Adwin defaults() {
    return new Adwin(0.002, 2_000, 30);
  }

  /**
   * Detector state.
   *
   * @param n values seen in all
   * @param window the values kept, oldest first (copied in and out: the state stays immutable)
   */
  public record State(long n, double[] window) {
    public State {
      window = window == null ? new double[0] : window.clone();
    }

    public static State initial() {
      return new State(0, new double[0]);
    }

    @Override
    public double[] window() {
      return window.clone();
    }

    /** The mean of the window, NaN when empty. */
    public double mean() {
      return window.length == 0 ? Double.NaN : Arrays.stream(window).sum() / window.length;
    }

    @Override
    public boolean equals(Object o) {
      return o instanceof State s && s.n == n && Arrays.equals(s.window, window);
    }

    @Override
    public int hashCode() {
      return Long.hashCode(n) * 31 + Arrays.hashCode(window);
    }

    @Override
    public String toString() {
      return "Adwin.State[n=" + n + ", width=" + window.length + "]";
    }
  }

  /**
   * The state after one more value.
   *
   * @param drift a cut showed the newer values' mean above the older one
   * @param statistic at a cut, {@code |μ0 - μ1|}; else 0
   * @param threshold at a cut, the bound it crossed; else 0
   * @param recent at a cut, the length of the newer part W1 (values since the estimated change); else 0
   */
  public record Step(State state, boolean drift, double statistic, double threshold, int recent) {}

  public Step update(State st, double x) {
    if (!Double.isFinite(x)) {
      throw new IllegalArgumentException("adwin takes finite values, was " + x);
    }
    double[] old = st.window;
    int keep = Math.min(old.length, maxWindow - 1);
    double[] w = new double[keep + 1];
    System.arraycopy(old, old.length - keep, w, 0, keep);
    w[keep] = x;
    boolean drift = false;
    double statistic = 0;
    double threshold = 0;
    int from = 0;
    Cut cut;
    while ((cut = findCut(w, from)) != null) {
      if (cut.increase() && !drift) {
        drift = true;
        statistic = cut.diff();
        threshold = cut.eps();
      }
      from = cut.split();
    }
    if (from > 0) {
      w = Arrays.copyOfRange(w, from, w.length);
    }
    return new Step(new State(st.n() + 1, w), drift, statistic, threshold, drift ? w.length : 0);
  }

  private record Cut(int split, double diff, double eps, boolean increase) {}

  /**
   * The oldest split of w[from..] that passes the cut test, or null. Splits are tried where the newer part W1 has minSubWindow
   * values and then at steps of an eighth of its length (geometrically spaced, like ADWIN2's bucket boundaries), so a value costs
   * a few tens of tests rather than one per position.
   */
  private Cut findCut(double[] w, int from) {
    int n = w.length - from;
    if (n < 2 * minSubWindow) {
      return null;
    }
    double total = 0;
    double sq = 0;
    for (int i = from; i < w.length; i++) {
      total += w[i];
      sq += w[i] * w[i];
    }
    double mean = total / n;
    double variance = Math.max(0, sq / n - mean * mean);
    double logTerm = Math.log(2.0 * n / delta);
    Cut found = null;
    double tail = 0;
    int n1 = 0;
    int next = minSubWindow;
    while (next <= n - minSubWindow) {
      while (n1 < next) {
        tail += w[w.length - 1 - n1];
        n1++;
      }
      int n0 = n - n1;
      double m = 1.0 / (1.0 / n0 + 1.0 / n1);
      double mu0 = (total - tail) / n0;
      double mu1 = tail / n1;
      double diff = Math.abs(mu0 - mu1);
      double eps = Math.sqrt(2.0 / m * variance * logTerm) + 2.0 / (3.0 * m) * logTerm;
      if (diff > eps) {
        found = new Cut(w.length - n1, diff, eps, mu1 > mu0);
      }
      next = n1 + Math.max(1, n1 / 8);
    }
    return found;
  }
}
