package dev.streamtune.evaluator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.LabelProbability;
import dev.streamtune.core.records.Prediction;
import dev.streamtune.evaluator.ConfidenceDrift;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ConfidenceMonitorTest {
  private final ConfidenceMonitor monitor = new ConfidenceMonitor(new ConfidenceDrift(true, 500, 200, 50, 0.001));
  private final SplittableRandom rnd = new SplittableRandom(9);
  private ConfidenceMonitor.State state = ConfidenceMonitor.State.initial(3);
  private int t;
  private final List<double[]> tests = new ArrayList<>();

  private List<DriftSignal> feed(int n, double lo, double hi) {
    List<DriftSignal> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      Instant at = Instant.ofEpochSecond(1_000_000 + t++);
      Prediction p = Prediction.of("p" + t, "fashion", 3, List.of(new LabelProbability("Bag", lo + (hi - lo) * rnd.nextDouble())),
          1.0, at);
      ConfidenceMonitor.Update u = monitor.apply(state, p);
      state = u.state();
      u.drift().ifPresent(out::add);
      if (u.test() != null) {
        tests.add(u.test());
      }
    }
    return out;
  }

  /** Every check reports D, the D it fires at and the p-value (what the dashboard charts): D stays below it while stable. */
  @Test
  void shouldReportEachTestWithItsCriticalValueAndPValue() {
    feed(500 + 200 + 150, 0.7, 1.0);
    assertThat(tests).as("a test every 50 predictions once the windows are full").hasSizeBetween(3, 4);
    assertThat(tests).allSatisfy(r -> {
      assertThat(r[0]).as("D").isLessThan(r[1]);
      assertThat(r[2]).as("p-value").isGreaterThan(0.001);
    });
  }

  @Test
  void shouldKeepTheFirstPredictionsAsReferenceAndASlidingRecentWindow() {
    assertThat(feed(700, 0.8, 1.0)).isEmpty();
    assertThat(state.reference()).hasSize(500);
    assertThat(state.referenceClasses()).hasSize(500).containsOnly(0);
    assertThat(state.labels()).containsExactly("Bag");
    assertThat(state.recent()).hasSize(200);
    assertThat(state.recentTimes()[0]).isEqualTo(Instant.ofEpochSecond(1_000_500).toEpochMilli());
    assertThat(Json.fromBytes(Json.toBytes(state), ConfidenceMonitor.State.class)).isEqualTo(state);
  }

  @Test
  void shouldSignalALastingFallOfConfidenceOnceThenFromAFreshReference() {
    assertThat(feed(1_500, 0.8, 1.0)).isEmpty();
    List<DriftSignal> signals = feed(2_000, 0.4, 0.7);
    assertThat(signals).hasSize(1);
    DriftSignal first = signals.get(0);
    assertThat(first.kind()).isEqualTo(DriftSignal.Kind.DATA);
    assertThat(first.window() - 1_500).isBetween(1L, 150L);
    assertThat(feed(1_000, 0.1, 0.3)).as("a further shift against the fresh reference").hasSize(1);
    assertThat(state.alarms()).isEqualTo(2);
  }

  @Test
  void shouldRaiseNoAlarmOverAHundredThousandStationaryPredictions() {
    assertThat(feed(100_000, 0.5, 1.0)).isEmpty();
  }

  /**
   * Served traffic: runs of one class (1 to 40 predictions long), each class with its own confidence level, and the mix
   * drifting from all classes to the three least confident ones: no shift within any class, so no alarm, at the default
   * alpha. (The test of confidences alone, which did not look at the class, fired on such traffic.)
   */
  @Test
  void shouldRaiseNoAlarmOnClassRunsAndAChangingClassMix() {
    ConfidenceMonitor byDefault = new ConfidenceMonitor(new ConfidenceDrift(true, 500, 200, 50, 5e-5));
    ConfidenceMonitor.State s = ConfidenceMonitor.State.initial(1);
    List<DriftSignal> alarms = new ArrayList<>();
    int i = 0;
    while (i < 100_000) {
      boolean late = i > 50_000;
      int cls = late ? 7 + rnd.nextInt(3) : rnd.nextInt(10);
      int run = 1 + rnd.nextInt(40);
      for (int k = 0; k < run; k++, i++) {
        ConfidenceMonitor.Update u = byDefault.apply(s, classed(i, cls, 0));
        s = u.state();
        u.drift().ifPresent(alarms::add);
      }
    }
    assertThat(alarms).isEmpty();
  }

  /** A fall of confidence within classes (a new camera), in class runs, is found within 200 predictions. */
  @Test
  void shouldSignalAFallWithinClassesWithin200Predictions() {
    ConfidenceMonitor byDefault = new ConfidenceMonitor(new ConfidenceDrift(true, 500, 200, 50, 5e-5));
    ConfidenceMonitor.State s = ConfidenceMonitor.State.initial(1);
    int shiftAt = 3_000;
    Long found = null;
    int i = 0;
    while (i < shiftAt + 1_000 && found == null) {
      int cls = rnd.nextInt(10);
      int run = 1 + rnd.nextInt(20);
      for (int k = 0; k < run && found == null; k++, i++) {
        ConfidenceMonitor.Update u = byDefault.apply(s, classed(i, cls, i >= shiftAt ? 0.15 : 0));
        s = u.state();
        if (u.drift().isPresent()) {
          found = (long) i;
        }
      }
    }
    assertThat(found).as("signalled").isNotNull();
    assertThat(found - shiftAt).as("predictions after the shift").isBetween(0L, 200L);
  }

  /** Class {@code c} answers with confidence around {@code 1 - 0.05 c}, lowered by {@code drop}. */
  private Prediction classed(int i, int c, double drop) {
    double conf = Math.max(0.1, 1.0 - 0.05 * c - 0.08 * rnd.nextDouble() - drop * (0.5 + rnd.nextDouble()));
    return Prediction.of("p" + i, "fashion", 1, List.of(new LabelProbability("class-" + c, conf)), 1.0,
        Instant.ofEpochSecond(1_000_000 + i));
  }
}
