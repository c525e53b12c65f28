package dev.streamtune.standalone.eval;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LabelEfficiencyTest {
  private static final double ORACLE = 0.9;

  /** One technique's curve: new-domain accuracy at 100, 200 and 500 labels, no forgetting. */
  private static List<ScenarioRunner.CurvePoint> curve(String technique, double at100, double at200, double at500) {
    List<ScenarioRunner.CurvePoint> out = new ArrayList<>();
    int[] labels = {100, 200, 500};
    double[] acc = {at100, at200, at500};
    for (int i = 0; i < 3; i++) {
      out.add(new ScenarioRunner.CurvePoint(technique, labels[i], "pool2", acc[i], 0.9, 0.9, ORACLE, 1.0, "-"));
    }
    return out;
  }

  private static Goals.Goal half(Map<String, List<ScenarioRunner.CurvePoint>> byScenario) {
    return LabelEfficiency.goals(byScenario).get(0);
  }

  @Test
  void shouldMeetHalfTheLabelsOnlyWhenTheBestTechniqueNeedsHalfOfPlains() {
    // target 0.81: plain reaches it at 500, augmentation at 200
    List<ScenarioRunner.CurvePoint> points = new ArrayList<>(curve(LabelEfficiency.BASELINE, 0.5, 0.6, 0.81));
    points.addAll(curve("augmentation", 0.6, 0.81, 0.85));

    Goals.Goal g = half(Map.of("invert", points));
    assertThat(g.met()).isTrue();
    assertThat(g.measured()).isEqualTo("invert 0.40 (augmentation)");
  }

  @Test
  void shouldCallAShiftWherePlainReachesTheTargetAtTheSmallestCountNotMeasurableRatherThanARatio() {
    List<ScenarioRunner.CurvePoint> points = new ArrayList<>(curve(LabelEfficiency.BASELINE, 0.85, 0.86, 0.87));
    points.addAll(curve("augmentation", 0.86, 0.87, 0.88));

    Goals.Goal g = half(Map.of("night", points));
    assertThat(g.met()).isFalse();
    assertThat(g.measured()).isEqualTo("night not measurable (plain reaches it at <= 100, the smallest count)");
  }
}
