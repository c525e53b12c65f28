package dev.streamtune.core.learn;

import java.util.Arrays;

/**
 * The two-sample Kolmogorov–Smirnov test: are two samples drawn from the same continuous distribution? The statistic is
 * {@code D = sup |F_a(x) - F_b(x)|}; the p-value is the asymptotic Kolmogorov distribution {@code Q(λ) = 2 Σ (-1)^(k-1)
 * exp(-2k²λ²)} at {@code λ = (√nₑ + 0.12 + 0.11/√nₑ)·D}, {@code nₑ = nm/(n+m)} (Stephens' small-sample correction, as in
 * Numerical Recipes), good for samples of some tens and more. Pure, stateless and thread-safe.
 */
public final class KolmogorovSmirnov {
  private KolmogorovSmirnov() {}

  /**
   * A test result.
   *
   * @param d the KS statistic D
   * @param pValue the (asymptotic) probability of a D at least this large when both samples share one distribution
   */
  public record Result(double d, double pValue, int n, int m) {}

  /** Tests two non-empty samples; the arrays are not changed. */
  public static Result test(double[] a, double[] b) {
    double d = statistic(a, b);
    return new Result(d, pValue(d, a.length, b.length), a.length, b.length);
  }

  /** D = sup |F_a - F_b| over the pooled values (ties handled: both CDFs step past a shared value together). */
  public static double statistic(double[] a, double[] b) {
    if (a.length == 0 || b.length == 0) {
      throw new IllegalArgumentException("KS needs two non-empty samples; sizes were " + a.length + " and " + b.length);
    }
    double[] x = a.clone();
    double[] y = b.clone();
    Arrays.sort(x);
    Arrays.sort(y);
    int i = 0;
    int j = 0;
    double d = 0;
    while (i < x.length && j < y.length) {
      double v = Math.min(x[i], y[j]);
      while (i < x.length && x[i] == v) {
        i++;
      }
      while (j < y.length && y[j] == v) {
        j++;
      }
      d = Math.max(d, Math.abs((double) i / x.length - (double) j / y.length));
    }
    return d;
  }

  /** The asymptotic p-value of a statistic d for samples of n and m values. */
  public static double pValue(double d, int n, int m) {
    return q(lambdaScale(n, m) * d);
  }

  /** The least D that gives a p-value at most alpha for samples of n and m values: the test's critical value. */
  public static double criticalD(int n, int m, double alpha) {
    if (!(alpha > 0 && alpha < 1)) {
      throw new IllegalArgumentException("alpha must be in (0,1), was " + alpha);
    }
    double lo = 0;
    double hi = 10;
    for (int k = 0; k < 100; k++) {
      double mid = (lo + hi) / 2;
      if (q(mid) > alpha) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return hi / lambdaScale(n, m);
  }

  private static double lambdaScale(int n, int m) {
    if (n < 1 || m < 1) {
      throw new IllegalArgumentException("KS needs sample sizes >= 1; were " + n + " and " + m);
    }
    double ne = Math.sqrt((double) n * m / (n + m));
    return ne + 0.12 + 0.11 / ne;
  }

  /** The Kolmogorov survival function Q(λ). */
  static double q(double lambda) {
    if (lambda < 0.2) {
      return 1.0; // the series converges slowly here and the sum is 1 to double precision
    }
    double sum = 0;
    double sign = 1;
    for (int k = 1; k <= 100; k++) {
      double term = sign * Math.exp(-2.0 * k * k * lambda * lambda);
      sum += term;
      if (Math.abs(term) < 1e-16) {
        break;
      }
      sign = -sign;
    }
    return Math.max(0, Math.min(1, 2 * sum));
  }
}
