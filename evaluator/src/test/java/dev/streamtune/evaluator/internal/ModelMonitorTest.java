package dev.streamtune.evaluator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.learn.PageHinkley;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Outcome;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ModelMonitorTest {
  private final ModelMonitor monitor = new ModelMonitor(new PageHinkley(0.005, 50, 30), 200);
  private final SplittableRandom rnd = new SplittableRandom(3);
  private ModelMonitor.State state = ModelMonitor.State.empty();
  private int t;

  private List<DriftSignal> feed(int version, int n, double errorRate) {
    List<DriftSignal> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      boolean wrong = rnd.nextDouble() < errorRate;
      Instant at = Instant.ofEpochSecond(1_000_000 + t++);
      Outcome o = new Outcome(Versioned.CURRENT, "p" + t, "fashion", version, wrong ? "Coat" : "Bag", "Bag", 0.9, at, at);
      ModelMonitor.Update u = monitor.apply(state, o);
      state = u.state();
      u.drift().ifPresent(out::add);
    }
    return out;
  }

  @Test
  void shouldStayQuietWhileTheErrorRateIsStable() {
    assertThat(feed(1, 5_000, 0.13)).isEmpty();
    assertThat(state.versions().get(1).windowAccuracy()).isBetween(0.78, 0.95);
    assertThat(state.versions().get(1).outcomes()).isEqualTo(5_000);
  }

  @Test
  void shouldSignalDriftOfTheVersionWhoseErrorsRise() {
    feed(1, 1_000, 0.13);
    Instant shift = Instant.ofEpochSecond(1_000_000 + t);
    List<DriftSignal> alarms = feed(1, 300, 0.6);
    assertThat(alarms).isNotEmpty();
    DriftSignal d = alarms.get(0);
    assertThat(d.version()).isEqualTo(1);
    assertThat(d.kind()).isEqualTo(DriftSignal.Kind.PERFORMANCE);
    assertThat(d.detectedAt()).isAfter(shift);
    assertThat(d.onset()).isBefore(d.detectedAt());
    assertThat(d.accuracyRecent()).isLessThan(d.accuracyBefore());
    // a new version starts with its own fresh detector
    assertThat(feed(2, 500, 0.13)).isEmpty();
    assertThat(state.versions()).containsKeys(1, 2);
  }
}
