package dev.streamtune.core.learn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ThresholdedConfidenceTest {
  @Test
  void shouldGiveBackTheReferenceAccuracyOnTheReference() {
    SplittableRandom rnd = new SplittableRandom(3);
    double[] c = new double[1000];
    boolean[] ok = new boolean[1000];
    for (int i = 0; i < c.length; i++) {
      c[i] = rnd.nextDouble();
      ok[i] = rnd.nextDouble() < c[i];
    }
    ThresholdedConfidence atc = ThresholdedConfidence.fit(c, ok);
    double acc = atc.referenceAccuracy();
    assertThat(acc).isBetween(0.45, 0.55);
    assertThat(atc.estimate(c)).isCloseTo(acc, org.assertj.core.data.Offset.offset(1e-9));
  }

  @Test
  void shouldFollowAShiftThatLowersConfidenceWhereAMeanOfConfidencesIsOverconfident() {
    // reference: confident answers are right, the unsure ones wrong; under the shift the confidences fall and so does accuracy
    double[] ref = {0.99, 0.98, 0.97, 0.96, 0.95, 0.94, 0.93, 0.92, 0.6, 0.55};
    boolean[] ok = {true, true, true, true, true, true, true, true, false, false};
    ThresholdedConfidence atc = ThresholdedConfidence.fit(ref, ok);
    assertThat(atc.threshold()).isEqualTo(0.6);
    double[] shifted = {0.9, 0.85, 0.7, 0.65, 0.58, 0.5, 0.45, 0.61, 0.59, 0.4};
    assertThat(atc.estimate(shifted)).isEqualTo(0.5); // 0.9, 0.85, 0.7, 0.65, 0.61 above 0.6
    assertThat(atc.estimate(new double[0])).isNaN();
  }

  @Test
  void shouldCountEveryAnswerWhenTheReferenceWasAllRightAndRefuseBadInput() {
    ThresholdedConfidence all = ThresholdedConfidence.fit(new double[] {0.7, 0.8}, new boolean[] {true, true});
    assertThat(all.estimate(new double[] {0.7, 0.9})).isEqualTo(1.0);
    assertThatThrownBy(() -> ThresholdedConfidence.fit(new double[] {1.2}, new boolean[] {true})).hasMessageContaining("1.2");
    assertThatThrownBy(() -> ThresholdedConfidence.fit(new double[0], new boolean[0])).hasMessageContaining("at least one");
  }
}
