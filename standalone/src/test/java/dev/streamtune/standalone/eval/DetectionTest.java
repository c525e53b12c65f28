package dev.streamtune.standalone.eval;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class DetectionTest {
  private static boolean[] bernoulli(int n, double p, long seed) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
    boolean[] out = new boolean[n];
    for (int i = 0; i < n; i++) {
      out[i] = r.nextDouble() < p;
    }
    return out;
  }

  private static boolean[] concat(boolean[] a, boolean[] b) {
    boolean[] out = java.util.Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  @Test
  void shouldDetectAnAbruptRiseOfTheErrorRateSoonAfterTheShift() {
    boolean[] stream = concat(bernoulli(1000, 0.13, 1), bernoulli(1000, 0.7, 2));

    Map<String, Detection.Outcome> d = Detection.run(Detection.serviceDefaults(), stream, 1000);

    assertThat(d).containsOnlyKeys("page-hinkley", "ddm", "adwin");
    assertThat(d.get("page-hinkley").falseAlarms()).isZero();
    assertThat(d.get("page-hinkley").delay()).isBetween(1, 100);
    assertThat(d.get("adwin").delay()).isBetween(1, 100);
  }

  @Test
  void shouldReportMissedWhenTheErrorRateDoesNotChange() {
    boolean[] stream = bernoulli(3000, 0.13, 3);

    Map<String, Detection.Outcome> d = Detection.run(Detection.serviceDefaults(), stream, 1000);

    d.values().forEach(o -> {
      assertThat(o.detected()).as(o.detector()).isFalse();
      assertThat(o.delay()).isEqualTo(-1);
      assertThat(o.alarms()).isEmpty();
    });
  }

  @Test
  void shouldCountEveryAlarmBeforeTheShiftAsFalse() {
    // a rise at 500 that the run is told happens at 1500: its alarm comes before the stated shift
    boolean[] stream = concat(bernoulli(500, 0.1, 4), bernoulli(1500, 0.8, 5));

    Detection.Outcome ph = Detection.run(Detection.serviceDefaults(), stream, 1500).get("page-hinkley");

    assertThat(ph.falseAlarms()).isPositive();
  }

  @Test
  void shouldResampleWithTheRecordedErrorRate() {
    boolean[] recorded = bernoulli(1000, 0.2, 6);
    double rate = Learner.accuracy(recorded);

    boolean[] long_ = Detection.resample(recorded, 50_000, 7);

    assertThat(long_).hasSize(50_000);
    assertThat(Learner.accuracy(long_)).isCloseTo(rate, org.assertj.core.data.Offset.offset(0.01));
    assertThat(Detection.resample(recorded, 100, 7)).isEqualTo(Detection.resample(recorded, 100, 7));
  }
}
