package dev.streamtune.core.learn;

import java.util.Arrays;

/**
 * A Kolmogorov–Smirnov test of recent values against a reference, <em>within the predicted class</em>: each recent value is
 * replaced by its rank among the reference values of its own class (a probability integral transform, ties broken by a
 * deterministic draw from {@code jitter}), and the ranks are tested against the uniform distribution.
 *
 * <p>Why: served traffic is not an i.i.d. draw. Clients send runs of one kind of image, and the class mix moves during the day;
 * a model's confidence depends mostly on the class (trousers ~1.0, shirts ~0.6), so a plain two-sample test of confidences
 * fires on a change of mix that is no shift at all. Given its class, a recent value's rank is uniform whatever the mix, so
 * this test fires on a change <em>within</em> classes (a new camera, lighting, corruption) and not on class runs or a prior
 * shift. The critical value accounts for the reference's own sampling error: under the null, the variance of the empirical
 * CDF's deviation is {@code 1/m + Σ_c (m_c/m)² / n_c} (recent size {@code m}, {@code m_c} of them in class {@code c}, which
 * has {@code n_c} reference values), so {@code D_crit = sqrt(ln(2/alpha)/2 · that)}, the two-sample formula with this
 * variance. Classes with fewer than {@code minPerClass} reference values are left out of the test. Stateless.
 */
public final class ClassConditionalKs {
  private ClassConditionalKs() {}

  /**
   * @param d the largest distance between the ranks' empirical CDF and the uniform one
   * @param critical the D the test rejects at, for its alpha
   * @param pValue the asymptotic p-value
   * @param judged the recent values tested (those of a class with enough reference values)
   */
  public record Result(double d, double critical, double pValue, int judged) {
    public boolean rejects() {
      return d > critical;
    }
  }

  /**
   * @param reference reference values, with {@code referenceClass} their classes (indices {@code >= 0})
   * @param recent recent values, with {@code recentClass} their classes and {@code jitter} a distinct number per value (e.g.
   *     its sequence number in the stream) that breaks its ties with reference values reproducibly
   * @param minJudged fewest judged values for a test; with fewer the result is null
   * @return the test, or null when fewer than {@code minJudged} recent values have a class with enough reference values
   */
  public static Result test(double[] reference, int[] referenceClass, double[] recent, int[] recentClass, long[] jitter,
      double alpha, int minPerClass, int minJudged) {
    int classes = 0;
    for (int c : referenceClass) {
      classes = Math.max(classes, c + 1);
    }
    for (int c : recentClass) {
      classes = Math.max(classes, c + 1);
    }
    int[] refCount = new int[classes];
    for (int c : referenceClass) {
      refCount[c]++;
    }
    double[][] byClass = new double[classes][];
    int[] fill = new int[classes];
    for (int c = 0; c < classes; c++) {
      byClass[c] = new double[refCount[c]];
    }
    for (int i = 0; i < reference.length; i++) {
      int c = referenceClass[i];
      byClass[c][fill[c]++] = reference[i];
    }
    for (double[] r : byClass) {
      Arrays.sort(r);
    }
    double[] u = new double[recent.length];
    int[] judgedIn = new int[classes];
    int m = 0;
    for (int i = 0; i < recent.length; i++) {
      double[] r = byClass[recentClass[i]];
      if (r.length < minPerClass) {
        continue;
      }
      int lower = lowerBound(r, recent[i]);
      int equal = lowerBound(r, Math.nextUp(recent[i])) - lower;
      u[m++] = (lower + unit(jitter[i]) * (equal + 1)) / (r.length + 1);
      judgedIn[recentClass[i]]++;
    }
    if (m < minJudged) {
      return null;
    }
    double[] ranks = Arrays.copyOf(u, m);
    Arrays.sort(ranks);
    double d = 0;
    for (int i = 0; i < m; i++) {
      d = Math.max(d, Math.max((i + 1) / (double) m - ranks[i], ranks[i] - i / (double) m));
    }
    double variance = 1.0 / m;
    for (int c = 0; c < classes; c++) {
      if (judgedIn[c] > 0) {
        double w = judgedIn[c] / (double) m;
        variance += w * w / refCount[c];
      }
    }
    double critical = Math.sqrt(Math.log(2 / alpha) / 2 * variance);
    double p = Math.min(1, 2 * Math.exp(-2 * d * d / variance));
    return new Result(d, critical, p, m);
  }

  /** The first index whose value is {@code >= x} in a sorted array. */
  private static int lowerBound(double[] sorted, double x) {
    int lo = 0;
    int hi = sorted.length;
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (sorted[mid] < x) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  /** A number in [0, 1) drawn from {@code seed} (SplitMix64): the same value gets the same rank in every test. */
  static double unit(long seed) {
    long z = seed + 0x9E3779B97F4A7C15L;
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    z = z ^ (z >>> 31);
    return (z >>> 11) * 0x1.0p-53;
  }
}
