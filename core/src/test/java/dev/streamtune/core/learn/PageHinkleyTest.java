package dev.streamtune.core.learn;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PageHinkleyTest {
  private PageHinkley ph = new PageHinkley(0.005, 50, 30);

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

  @Test
  void shouldKeepTheEvaluatorDefaultQuietOnAHundredThousandOutcomesAndQuickOnANightLikeShift() {
    // the evaluator's default (delta 0.05, lambda 15) on the base model's clean error rate (~0.134) and a +0.25 jump, as the
    // night corruption gives: no alarm in 100,000 stationary outcomes (restarting after any), caught within 100 on average
    ph = new PageHinkley(0.05, 15, 30);
    SplittableRandom rnd = new SplittableRandom(11);
    int alarms = 0;
    PageHinkley.State[] s = {PageHinkley.State.initial()};
    for (int left = 100_000; left > 0; ) {
      int at = firstAlarm(s, 0.134, left, rnd);
      if (at < 0) {
        break;
      }
      alarms++;
      left -= at + 1;
      s[0] = PageHinkley.State.initial();
    }
    assertThat(alarms).isZero();
    int total = 0;
    for (int run = 0; run < 30; run++) {
      PageHinkley.State[] t = {PageHinkley.State.initial()};
      assertThat(firstAlarm(t, 0.134, 1_000, rnd)).isEqualTo(-1);
      int delay = firstAlarm(t, 0.384, 1_000, rnd);
      assertThat(delay).isGreaterThanOrEqualTo(0);
      total += delay + 1;
    }
    assertThat(total / 30.0).as("mean delay in labelled samples").isLessThanOrEqualTo(100);
  }
}
