package dev.streamtune.core.learn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Known values from SciPy 1.17 ({@code ks_2samp(method='asymp')} for D, {@code kstwobign.sf} for Q). */
class KolmogorovSmirnovTest {
  private static final double[] A = {0.61, 0.29, 0.06, 0.59, -1.73, -0.74, 0.51, -0.56, 0.39, 1.64, 0.05, -0.06, 0.64, -0.82, 0.37,
      1.77, 1.09, -1.28, 2.36, 1.31, 1.05, -0.32, -0.4, 1.06, -2.47};
  private static final double[] B = {2.20, 1.66, 1.38, 0.20, 0.36, 0.00, 0.96, 1.56, 0.44, 1.50, -0.30, 0.66, 2.31, 3.29, -0.27,
      -0.37, 0.38, 0.70, 0.52, -0.71};

  @Test
  void shouldMatchTheKolmogorovDistribution() {
    assertThat(KolmogorovSmirnov.q(0.5)).isCloseTo(0.96394524, within(1e-7));
    assertThat(KolmogorovSmirnov.q(1.0)).isCloseTo(0.26999967, within(1e-7));
    assertThat(KolmogorovSmirnov.q(1.3581)).isCloseTo(0.04999963, within(1e-7));
    assertThat(KolmogorovSmirnov.q(1.9495)).isCloseTo(0.0009998, within(1e-7));
  }

  @Test
  void shouldMatchKnownStatisticsAndPValues() {
    KolmogorovSmirnov.Result r = KolmogorovSmirnov.test(A, B);
    assertThat(r.d()).isCloseTo(0.23, within(1e-12));
    assertThat(r.pValue()).isCloseTo(0.5411245537, within(1e-6));
    assertThat(KolmogorovSmirnov.statistic(new double[] {1, 2, 3, 4, 5}, new double[] {3, 4, 5, 6, 7, 8})).isCloseTo(0.5,
        within(1e-12));

    double[] a = new double[100];
    double[] b = new double[100];
    for (int i = 0; i < 100; i++) {
      a[i] = i;
      b[i] = 30 + i;
    }
    KolmogorovSmirnov.Result shifted = KolmogorovSmirnov.test(a, b);
    assertThat(shifted.d()).isCloseTo(0.3, within(1e-9));
    assertThat(shifted.pValue()).isCloseTo(1.74213e-4, within(2e-9));
  }

  @Test
  void shouldGiveTheCriticalValueWhereThePValueIsAlpha() {
    double crit = KolmogorovSmirnov.criticalD(500, 200, 0.001);
    assertThat(crit).isCloseTo(0.1613, within(5e-4));
    assertThat(KolmogorovSmirnov.pValue(crit, 500, 200)).isCloseTo(0.001, within(1e-9));
  }

  @Test
  void shouldHandleTiesAndLeaveItsInputAlone() {
    double[] a = {0.9, 0.9, 0.9, 0.5};
    double[] b = {0.9, 0.5, 0.5, 0.5};
    assertThat(KolmogorovSmirnov.statistic(a, b)).isCloseTo(0.5, within(1e-12));
    assertThat(KolmogorovSmirnov.statistic(a, a)).isZero();
    assertThat(a).containsExactly(0.9, 0.9, 0.9, 0.5);
  }

  @Test
  void shouldRarelyRejectSamplesFromOneDistribution() {
    SplittableRandom rnd = new SplittableRandom(11);
    int rejected = 0;
    for (int run = 0; run < 200; run++) {
      double[] a = rnd.doubles(500).toArray();
      double[] b = rnd.doubles(200).toArray();
      if (KolmogorovSmirnov.test(a, b).pValue() < 0.01) {
        rejected++;
      }
    }
    assertThat(rejected).isLessThanOrEqualTo(8);
  }

  @Test
  void shouldRejectEmptySamples() {
    assertThatThrownBy(() -> KolmogorovSmirnov.statistic(new double[0], new double[] {1})).hasMessageContaining("non-empty");
  }
}
