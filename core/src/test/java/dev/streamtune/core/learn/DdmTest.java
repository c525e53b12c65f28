package dev.streamtune.core.learn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.json.Json;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class DdmTest {
  private final Ddm ddm = Ddm.defaults();

  /** Feeds Bernoulli errors; returns how many values until the first alarm (1-based), or -1. */
  private int firstAlarm(Ddm.State[] state, double errorRate, int n, SplittableRandom rnd) {
    for (int i = 0; i < n; i++) {
      Ddm.Step step = ddm.update(state[0], rnd.nextDouble() < errorRate ? 1 : 0);
      state[0] = step.state();
      if (step.drift()) {
        return i + 1;
      }
    }
    return -1;
  }

  @Test
  void shouldRaiseNoAlarmOnAHundredThousandStationaryOutcomes() {
    Ddm.State[] s = {Ddm.State.initial()};
    assertThat(firstAlarm(s, 0.13, 100_000, new SplittableRandom(7))).isEqualTo(-1);
    System.out.println("ddm " + ddm + ": 0 alarms on 100000 stationary Bernoulli(0.13) outcomes");
  }

  @Test
  void shouldAlarmWithinABoundedDelayAfterAnAbruptShift() {
    assertThat(delays(0.45)).isLessThanOrEqualTo(500);
    assertThat(delays(0.8)).isLessThanOrEqualTo(250);
  }

  /** 20 runs of 2,000 clean outcomes then the shift; prints the delays and returns the largest. */
  private int delays(double shifted) {
    int max = 0;
    long sum = 0;
    for (int seed = 0; seed < 20; seed++) {
      SplittableRandom rnd = new SplittableRandom(100 + seed);
      Ddm.State[] s = {Ddm.State.initial()};
      assertThat(firstAlarm(s, 0.13, 2_000, rnd)).isEqualTo(-1);
      int delay = firstAlarm(s, shifted, 5_000, rnd);
      assertThat(delay).isPositive();
      assertThat(s[0].nAtMin()).isBetween(1L, s[0].n());
      max = Math.max(max, delay);
      sum += delay;
    }
    System.out.printf("ddm %s: shift 0.13 -> %.2f after 2000 outcomes, delay mean %.1f max %d (20 runs)%n", ddm, shifted, sum / 20.0,
        max);
    return max;
  }

  @Test
  void shouldWarnBeforeItFires() {
    Ddm.State[] s = {Ddm.State.initial()};
    SplittableRandom rnd = new SplittableRandom(1);
    firstAlarm(s, 0.13, 2_000, rnd);
    boolean warned = false;
    for (int i = 0; i < 5_000; i++) {
      Ddm.Step step = ddm.update(s[0], 1);
      s[0] = step.state();
      warned |= step.warning();
      if (step.drift()) {
        break;
      }
    }
    assertThat(warned).isTrue();
    assertThat(s[0].warningSince()).isPositive();
  }

  @Test
  void shouldNotTreatAnErrorFreeStartAsAMinimum() {
    Ddm small = new Ddm(2, 3, 30);
    Ddm.State s = Ddm.State.initial();
    for (int i = 0; i < 100; i++) {
      s = small.update(s, 0).state();
    }
    assertThat(s.nAtMin()).isZero();
    assertThat(small.update(s, 1).drift()).isFalse();
  }

  @Test
  void shouldSurviveAJsonRoundTrip() {
    Ddm.State s = Ddm.State.initial();
    SplittableRandom rnd = new SplittableRandom(5);
    for (int i = 0; i < 1_000; i++) {
      s = ddm.update(s, rnd.nextDouble() < 0.2 ? 1 : 0).state();
    }
    assertThat(Json.fromBytes(Json.toBytes(s), Ddm.State.class)).isEqualTo(s);
    assertThat(Json.fromBytes(Json.toBytes(ddm), Ddm.class)).isEqualTo(ddm);
  }

  @Test
  void shouldRejectBadParametersAndValues() {
    assertThatThrownBy(() -> new Ddm(3, 2, 30)).hasMessageContaining("ddm needs");
    assertThatThrownBy(() -> ddm.update(Ddm.State.initial(), 1.5)).hasMessageContaining("1.5");
  }
}
