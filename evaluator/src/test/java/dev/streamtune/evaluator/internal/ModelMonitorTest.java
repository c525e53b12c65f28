package dev.streamtune.evaluator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.learn.Adwin;
import dev.streamtune.core.learn.Ddm;
import dev.streamtune.core.learn.PageHinkley;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Outcome;
import dev.streamtune.evaluator.DriftDetectors;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ModelMonitorTest {
  private ModelMonitor monitor = new ModelMonitor(new PageHinkley(0.005, 50, 30), 200);
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
      out.addAll(u.drifts());
    }
    return out;
  }

  /** What the quality dashboard charts: the statistic climbs toward the threshold as errors rise, and stays below while stable. */
  @Test
  void shouldReportEachDetectorsStatisticAgainstItsThreshold() {
    feed(1, 1_000, 0.13);
    Outcome ok = new Outcome(Versioned.CURRENT, "p-ok", "fashion", 1, "Bag", "Bag", 0.9, Instant.ofEpochSecond(2_000_000),
        Instant.ofEpochSecond(2_000_000));
    double[] stable = monitor.apply(state, ok).statistics().get(PageHinkley.NAME);
    assertThat(stable[1]).as("the threshold is the configured lambda").isEqualTo(50.0);
    assertThat(stable[0]).isBetween(0.0, 50.0);
    feed(1, 40, 0.9);
    double[] rising = monitor.apply(state, ok).statistics().get(PageHinkley.NAME);
    assertThat(rising[0]).as("after a burst of errors").isGreaterThan(stable[0]);
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

  private void useAllDetectors() {
    monitor = new ModelMonitor(new DriftDetectors(List.of(PageHinkley.NAME, Ddm.NAME, Adwin.NAME), new PageHinkley(0.005, 50, 30),
        Ddm.defaults(), Adwin.defaults()), 200);
  }

  @Test
  void shouldKeepEveryConfiguredDetectorQuietWhileTheErrorRateIsStable() {
    useAllDetectors();
    assertThat(feed(1, 5_000, 0.13)).isEmpty();
    VersionMonitor v = state.versions().get(1);
    assertThat(v.ph().n()).isEqualTo(5_000);
    assertThat(v.ddm().n()).isEqualTo(5_000);
    assertThat(v.adwin().n()).isEqualTo(5_000);
    assertThat(Json.fromBytes(Json.toBytes(state), ModelMonitor.State.class)).isEqualTo(state);
  }

  @Test
  void shouldSignalOncePerDetectorThatFiresAndResetOnlyThatDetector() {
    useAllDetectors();
    feed(1, 2_000, 0.13);
    Instant shift = Instant.ofEpochSecond(1_000_000 + t);
    List<DriftSignal> alarms = new ArrayList<>();
    for (int i = 0; i < 600 && alarms.stream().map(DriftSignal::detector).distinct().count() < 3; i++) {
      alarms.addAll(feed(1, 1, 0.8));
    }
    assertThat(alarms).extracting(DriftSignal::detector).contains(PageHinkley.NAME, Ddm.NAME, Adwin.NAME);
    for (DriftSignal d : alarms) {
      assertThat(d.kind()).isEqualTo(DriftSignal.Kind.PERFORMANCE);
      assertThat(d.detectedAt()).isAfter(shift);
      assertThat(d.onset()).isBefore(d.detectedAt());
      assertThat(d.statistic()).isGreaterThanOrEqualTo(d.threshold());
      assertThat(d.accuracyRecent()).isLessThan(d.accuracyBefore());
      System.out.printf("%s fired %d s after the shift, onset %d s after it%n", d.detector(),
          d.detectedAt().getEpochSecond() - shift.getEpochSecond(), d.onset().getEpochSecond() - shift.getEpochSecond());
    }
    DriftSignal first = alarms.get(0);
    VersionMonitor v = state.versions().get(1);
    assertThat(v.alarms()).isEqualTo(alarms.size());
    // the detector that fired first restarted; the others kept counting
    long restarted = switch (first.detector()) {
      case PageHinkley.NAME -> v.ph().n();
      case Ddm.NAME -> v.ddm().n();
      default -> v.adwin().n();
    };
    assertThat(restarted).isLessThan(v.outcomes());
  }

  @Test
  void shouldReadAStateStoredBeforeDetectorsWereConfigurable() {
    String old = "{\"versions\":{\"1\":{\"version\":1,\"outcomes\":3,\"correct\":2,\"window\":\"101\",\"ph\":{\"n\":3,"
        + "\"mean\":0.33,\"sum\":-0.5,\"min\":-0.7,\"nAtMin\":2},\"onset\":\"2026-01-01T00:00:00Z\","
        + "\"windowBeforeOnset\":\"NaN\",\"alarms\":0}}}";
    state = Json.fromBytes(old.getBytes(java.nio.charset.StandardCharsets.UTF_8), ModelMonitor.State.class);
    VersionMonitor v = state.versions().get(1);
    assertThat(v.window()).isEmpty();
    assertThat(v.ph().n()).isEqualTo(3);
    assertThat(feed(1, 300, 0.13)).isEmpty();
    assertThat(state.versions().get(1).outcomes()).isEqualTo(303);
    assertThat(state.versions().get(1).window()).hasSize(200);
  }

  /** Outcomes in runs of one class (1 to 40 long), each class with its own error rate (class c: 2 % + 4 % per c). */
  private List<DriftSignal> classRuns(ModelMonitor m, int n, double extraError) {
    List<DriftSignal> out = new ArrayList<>();
    int i = 0;
    while (i < n) {
      int c = rnd.nextInt(10);
      int run = 1 + rnd.nextInt(40);
      for (int k = 0; k < run && i < n; k++, i++) {
        boolean wrong = rnd.nextDouble() < 0.02 + 0.04 * c + extraError;
        Instant at = Instant.ofEpochSecond(1_000_000 + t++);
        String label = "class-" + c;
        Outcome o = new Outcome(Versioned.CURRENT, "p" + t, "fashion", 1, wrong ? "other" : label, label, 0.9, at, at);
        ModelMonitor.Update u = m.apply(state, o);
        state = u.state();
        out.addAll(u.drifts());
      }
    }
    return out;
  }

  /**
   * The evaluator's default Page-Hinkley on labelled outcomes in class runs: each class's error rate is learnt over the first
   * outcomes, so runs of a hard class are no drift, and a rise of errors within classes still is.
   */
  @Test
  void shouldNotTakeRunsOfAHardClassForDriftButFindMoreErrorsWithinClasses() {
    ModelMonitor byDefault = new ModelMonitor(
        dev.streamtune.evaluator.EvaluatorConfig.from(dev.streamtune.core.config.Settings.empty()).drift(), 200);
    assertThat(classRuns(byDefault, 100_000, 0)).as("alarms on 100,000 stationary outcomes in class runs").isEmpty();
    assertThat(state.versions().get(1).classes()).hasSize(10);
    int before = t;
    List<DriftSignal> shifted = classRuns(byDefault, 1_000, 0.25);
    assertThat(shifted).as("errors up by 25 points within every class").isNotEmpty();
    assertThat(shifted.get(0).detectedAt().getEpochSecond() - 1_000_000 - before).isLessThan(200);
  }

  @Test
  void shouldAdjustAnErrorForItsClassRate() {
    java.util.Map<String, long[]> classes = java.util.Map.of("easy", new long[] {500, 10}, "hard", new long[] {500, 190});
    double overall = 200 / 1000.0;
    assertThat(ModelMonitor.mixAdjusted(1, "hard", classes)).isCloseTo(1 - (190 + 20 * overall) / 520 + overall,
        org.assertj.core.data.Offset.offset(1e-12));
    assertThat(ModelMonitor.mixAdjusted(0, "easy", classes)).isLessThan(overall).isGreaterThan(0);
    assertThat(ModelMonitor.mixAdjusted(1, "unseen", classes)).isEqualTo(1.0);
  }
}
