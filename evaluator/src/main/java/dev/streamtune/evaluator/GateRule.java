package dev.streamtune.evaluator;

import dev.streamtune.core.records.Decision.Verdict;

/**
 * The promotion rule on paired held-out predictions: promote only when the candidate's gain on the recent (new-domain) set is at
 * least {@code minGain} and statistically real by McNemar's test at level {@code alpha}, and it does not forget the guard
 * (earlier domains) set: a drop of more than twice {@code maxGuardDrop} rejects; a drop above {@code maxGuardDrop} rejects when
 * it is real (McNemar's test on the paired guard answers, champion better, at level {@code alpha}), so that a few hundred guard
 * samples' noise alone does not reject a candidate. Pure and thread-safe.
 */
public record GateRule(int minRecent, double minGain, double alpha, double maxGuardDrop) {
  public GateRule {
    if (minRecent < 1 || minGain < 0 || !(alpha > 0 && alpha < 1) || maxGuardDrop < 0) {
      throw new IllegalArgumentException("bad gate rule " + minRecent + ", " + minGain + ", " + alpha + ", " + maxGuardDrop);
    }
  }

  /** The verdict with the figures that decided it. */
  public record Result(Verdict verdict, double candidateRecent, double championRecent, double candidateGuard, double championGuard,
      int recent, int guard, double mcnemarP, int onlyCandidate, int onlyChampion, String reason) {}

  /** Decides on paired correctness arrays (index i is the same held-out sample for both models). */
  public Result decide(boolean[] candRecent, boolean[] champRecent, boolean[] candGuard, boolean[] champGuard) {
    double cr = mean(candRecent);
    double hr = mean(champRecent);
    double cg = mean(candGuard);
    double hg = mean(champGuard);
    int n = candRecent.length;
    int onlyCand = 0;
    int onlyChamp = 0;
    for (int i = 0; i < n; i++) {
      if (candRecent[i] && !champRecent[i]) {
        onlyCand++;
      } else if (!candRecent[i] && champRecent[i]) {
        onlyChamp++;
      }
    }
    double p = mcnemarOneSided(onlyCand, onlyChamp);
    if (n < minRecent) {
      return new Result(Verdict.NOT_ENOUGH_DATA, cr, hr, cg, hg, n, candGuard.length, p, onlyCand, onlyChamp,
          "only " + n + " recent held-out samples, the gate needs " + minRecent);
    }
    if (cr - hr < minGain) {
      return new Result(Verdict.REJECT, cr, hr, cg, hg, n, candGuard.length, p, onlyCand, onlyChamp,
          String.format("gain on recent %.4f below the minimum %.4f", cr - hr, minGain));
    }
    if (p > alpha) {
      return new Result(Verdict.REJECT, cr, hr, cg, hg, n, candGuard.length, p, onlyCand, onlyChamp,
          String.format("gain on recent %.4f not significant (McNemar p=%.4g > %.4g)", cr - hr, p, alpha));
    }
    double drop = hg - cg;
    if (candGuard.length > 0 && drop > 2 * maxGuardDrop) {
      return new Result(Verdict.REJECT, cr, hr, cg, hg, n, candGuard.length, p, onlyCand, onlyChamp,
          String.format("forgets: guard accuracy drops %.4f, more than twice the allowed %.4f", drop, maxGuardDrop));
    }
    double guardP = candGuard.length == 0 ? 1.0 : guardDropP(candGuard, champGuard);
    if (drop > maxGuardDrop && guardP <= alpha) {
      return new Result(Verdict.REJECT, cr, hr, cg, hg, n, candGuard.length, p, onlyCand, onlyChamp,
          String.format("forgets: guard accuracy drops %.4f, more than the allowed %.4f, and the drop is real (McNemar "
              + "p=%.3g on the guard set)", drop, maxGuardDrop, guardP));
    }
    String guard = drop > maxGuardDrop
        ? String.format("guard change %+.4f within noise (McNemar p=%.3g on the guard set)", -drop, guardP)
        : String.format("guard change %+.4f", -drop);
    return new Result(Verdict.PROMOTE, cr, hr, cg, hg, n, candGuard.length, p, onlyCand, onlyChamp,
        String.format("gain on recent %.4f (McNemar p=%.3g), %s", cr - hr, p, guard));
  }

  /** The rule in words, for decision records. */
  public String describe() {
    return String.format("recent >= %d && gain >= %.3f && McNemar p <= %.3g && guard drop <= %.3f (or <= %.3f and not "
        + "significant at %.3g)", minRecent, minGain, alpha, maxGuardDrop, 2 * maxGuardDrop, alpha);
  }

  /** One-sided McNemar p-value that the champion is better than the candidate on the paired guard answers. */
  private static double guardDropP(boolean[] candGuard, boolean[] champGuard) {
    int onlyCand = 0;
    int onlyChamp = 0;
    for (int i = 0; i < candGuard.length; i++) {
      if (candGuard[i] && !champGuard[i]) {
        onlyCand++;
      } else if (!candGuard[i] && champGuard[i]) {
        onlyChamp++;
      }
    }
    return mcnemarOneSided(onlyChamp, onlyCand);
  }

  private static double mean(boolean[] a) {
    if (a.length == 0) {
      return Double.NaN;
    }
    int k = 0;
    for (boolean b : a) {
      k += b ? 1 : 0;
    }
    return k / (double) a.length;
  }

  /**
   * One-sided McNemar p-value that the candidate is better: an exact binomial tail P(X >= onlyCand) with X ~ Bin(b + c, 1/2).
   */
  static double mcnemarOneSided(int onlyCand, int onlyChamp) {
    int m = onlyCand + onlyChamp;
    if (m == 0) {
      return 1.0;
    }
    double logHalfM = m * Math.log(0.5);
    double p = 0;
    for (int k = onlyCand; k <= m; k++) {
      p += Math.exp(logChoose(m, k) + logHalfM);
    }
    return Math.min(1.0, p);
  }

  private static double logChoose(int n, int k) {
    return logFactorial(n) - logFactorial(k) - logFactorial(n - k);
  }

  private static double logFactorial(int n) {
    double s = 0;
    for (int i = 2; i <= n; i++) {
      s += Math.log(i);
    }
    return s;
  }
}
