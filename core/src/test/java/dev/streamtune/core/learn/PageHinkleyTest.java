package dev.streamtune.core.learn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PageHinkleyTest {
  private final PageHinkley ph = new PageHinkley(0.005, 50, 30);

  /** Feeds Bernoulli errors; returns the index of the first alarm or -1. */
  private int firstAlarm(PageHinkley.State[] state, double errorRate, int n, SplittableRandom rnd) {
    for (int i = 0; i < n; i++) {
      PageHinkley.Step step = ph.update(state[0], rnd.nextDouble() < errorRate ? 1 : 0);
      state[0] = step.state();
      if (step.drift()) {
        return i;
      }
    }
    return -1;
  }

  @Test
  void shouldNotAlarmOnAStationaryErrorStream() {
    SplittableRandom rnd = new SplittableRandom(7);
    PageHinkley.State[] s = {PageHinkley.State.initial()};
    assertThat(firstAlarm(s, 0.13, 20_000, rnd)).isEqualTo(-1);
  }

  @Test
  void shouldAlarmSoonAfterTheErrorRateJumps() {
    SplittableRandom rnd = new SplittableRandom(7);
    PageHinkley.State[] s = {PageHinkley.State.initial()};
    assertThat(firstAlarm(s, 0.13, 2_000, rnd)).isEqualTo(-1);
    int delay = firstAlarm(s, 0.8, 1_000, rnd);
    assertThat(delay).isBetween(0, 150);
    assertThat(s[0].nAtMin()).isLessThanOrEqualTo(s[0].n());
  }
}
