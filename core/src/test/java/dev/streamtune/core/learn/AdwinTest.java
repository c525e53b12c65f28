package dev.streamtune.core.learn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.json.Json;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class AdwinTest {
  private static final int RUNS = 10;
  private final Adwin adwin = Adwin.defaults();

  /** Feeds Bernoulli errors; returns how many values until the first alarm (1-based), or -1. */
  private int firstAlarm(Adwin.State[] state, double errorRate, int n, SplittableRandom rnd) {
    for (int i = 0; i < n; i++) {
      Adwin.Step step = adwin.update(state[0], rnd.nextDouble() < errorRate ? 1 : 0);
      state[0] = step.state();
      if (step.drift()) {
        return i + 1;
      }
    }
    return -1;
  }

  @Test
  void shouldRaiseNoAlarmOnAHundredThousandStationaryOutcomes() {
    Adwin.State[] s = {Adwin.State.initial()};
    assertThat(firstAlarm(s, 0.13, 100_000, new SplittableRandom(7))).isEqualTo(-1);
    assertThat(s[0].window()).hasSizeLessThanOrEqualTo(2_000);
    System.out.println("adwin " + adwin + ": 0 alarms on 100000 stationary Bernoulli(0.13) outcomes");
  }

  @Test
  void shouldAlarmWithinABoundedDelayAfterAnAbruptShift() {
    assertThat(delays(0.45)).isLessThanOrEqualTo(200);
    assertThat(delays(0.8)).isLessThanOrEqualTo(80);
  }

  /** Ten runs of 2,000 clean outcomes then the shift; prints the delays and returns the largest. */
  private int delays(double shifted) {
    int max = 0;
    long sum = 0;
    for (int seed = 0; seed < RUNS; seed++) {
      SplittableRandom rnd = new SplittableRandom(100 + seed);
      Adwin.State[] s = {Adwin.State.initial()};
      assertThat(firstAlarm(s, 0.13, 2_000, rnd)).isEqualTo(-1);
      int delay = -1;
      for (int i = 0; i < 5_000 && delay < 0; i++) {
        Adwin.Step step = adwin.update(s[0], rnd.nextDouble() < shifted ? 1 : 0);
        s[0] = step.state();
        if (step.drift()) {
          delay = i + 1;
          // the window kept after the cut is mostly the shifted part
          assertThat(step.recent()).isBetween(1, delay + 100);
          assertThat(step.statistic()).isGreaterThan(step.threshold());
        }
      }
      assertThat(delay).isPositive();
      max = Math.max(max, delay);
      sum += delay;
    }
    System.out.printf("adwin %s: shift 0.13 -> %.2f after 2000 outcomes, delay mean %.1f max %d (%d runs)%n", adwin, shifted,
        sum / (double) RUNS, max, RUNS);
    return max;
  }

  @Test
  void shouldShrinkButNotAlarmWhenErrorsFall() {
    Adwin.State[] s = {Adwin.State.initial()};
    SplittableRandom rnd = new SplittableRandom(3);
    assertThat(firstAlarm(s, 0.5, 1_000, rnd)).isEqualTo(-1);
    assertThat(firstAlarm(s, 0.02, 1_000, rnd)).isEqualTo(-1);
    assertThat(s[0].window().length).isLessThan(1_500);
    assertThat(s[0].mean()).isLessThan(0.1);
  }

  @Test
  void shouldSurviveAJsonRoundTrip() {
    Adwin.State s = Adwin.State.initial();
    SplittableRandom rnd = new SplittableRandom(5);
    for (int i = 0; i < 300; i++) {
      s = adwin.update(s, rnd.nextDouble() < 0.2 ? 1 : 0).state();
    }
    assertThat(Json.fromBytes(Json.toBytes(s), Adwin.State.class)).isEqualTo(s);
    assertThat(Json.fromBytes(Json.toBytes(adwin), Adwin.class)).isEqualTo(adwin);
  }

  @Test
  void shouldRejectBadParametersAndValues() {
    assertThatThrownBy(() -> new Adwin(0, 2_000, 30)).hasMessageContaining("adwin needs");
    assertThatThrownBy(() -> adwin.update(Adwin.State.initial(), Double.NaN)).hasMessageContaining("NaN");
  }
}
