package dev.streamtune.core.learn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ClassConditionalKsTest {
  private static final int CLASSES = 10;
  private final SplittableRandom rnd = new SplittableRandom(5);

  /** A class's values: its own level (class 0 near 1.0, class 9 near 0.55), quantised like served confidences. */
  private double value(int c, double drop) {
    double v = 1.0 - 0.05 * c - 0.05 * rnd.nextDouble() - drop;
    return Math.round(Math.min(1, Math.max(0, v)) * 1e4) / 1e4;
  }

  private Result run(int[] refMix, int[] recentMix, double drop, double alpha, int trials) {
    int rejected = 0;
    for (int t = 0; t < trials; t++) {
      double[] ref = new double[500];
      int[] refC = new int[500];
      for (int i = 0; i < ref.length; i++) {
        refC[i] = refMix[rnd.nextInt(refMix.length)];
        ref[i] = value(refC[i], 0);
      }
      double[] rec = new double[200];
      int[] recC = new int[200];
      long[] seq = new long[200];
      for (int i = 0; i < rec.length; i++) {
        recC[i] = recentMix[rnd.nextInt(recentMix.length)];
        rec[i] = value(recC[i], drop);
        seq[i] = t * 1000L + i;
      }
      ClassConditionalKs.Result r = ClassConditionalKs.test(ref, refC, rec, recC, seq, alpha, 5, 50);
      rejected += r.pValue() < alpha ? 1 : 0;
    }
    return new Result(rejected / (double) trials);
  }

  private record Result(double rate) {}

  private static int[] all() {
    int[] out = new int[CLASSES];
    for (int c = 0; c < CLASSES; c++) {
      out[c] = c;
    }
    return out;
  }

  @Test
  void shouldRejectAStationaryStreamAtMostAtItsLevel() {
    assertThat(run(all(), all(), 0, 0.05, 2_000).rate()).isLessThan(0.06);
  }

  /** A plain two-sample test of these values would reject nearly always: the recent mix holds only the least confident classes. */
  @Test
  void shouldNotRejectAChangeOfClassMix() {
    assertThat(run(all(), new int[] {7, 8, 9}, 0, 0.05, 1_000).rate()).isLessThan(0.06);
    double[] ref = new double[500];
    int[] refC = new int[500];
    for (int i = 0; i < 500; i++) {
      refC[i] = i % CLASSES;
      ref[i] = value(refC[i], 0);
    }
    double[] plain = new double[200];
    for (int i = 0; i < 200; i++) {
      plain[i] = value(9, 0);
    }
    assertThat(KolmogorovSmirnov.test(ref, plain).pValue()).as("the plain test on the same mix change").isLessThan(1e-6);
  }

  @Test
  void shouldRejectAFallWithinClasses() {
    assertThat(run(all(), all(), 0.03, 5e-5, 200).rate()).isGreaterThan(0.95);
  }

  @Test
  void shouldGiveNoTestWithoutEnoughReferenceForTheRecentClasses() {
    double[] ref = {0.9, 0.9, 0.9};
    int[] refC = {0, 0, 0};
    assertThat(ClassConditionalKs.test(ref, refC, new double[] {0.9, 0.8}, new int[] {0, 1}, new long[] {1, 2}, 0.05, 5, 1))
        .isNull();
  }
}
