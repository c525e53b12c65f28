package dev.streamtune.core.learn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Random;
import org.junit.jupiter.api.Test;

class LabelPriorityTest {
  @Test
  void uncertaintyIsOneMinusTheMarginOfTheTwoBestClasses() {
    assertThat(LabelPriority.uncertainty(new float[] {0.1f, 0.45f, 0.45f})).isEqualTo(1.0, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(LabelPriority.uncertainty(new float[] {0.0f, 1.0f, 0.0f})).isEqualTo(0.0, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(LabelPriority.uncertainty(new float[] {0.7f, 0.2f, 0.1f})).isEqualTo(0.5, org.assertj.core.data.Offset.offset(1e-6));
    assertThat(LabelPriority.uncertainty(new float[] {0.2f, 0.1f, 0.7f})).isEqualTo(0.5, org.assertj.core.data.Offset.offset(1e-6));
    assertThatThrownBy(() -> LabelPriority.uncertainty(new float[0])).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void theDriftRegionComesBeforeEveryInputFromBeforeTheShift() {
    LabelPriority.Score sureAfter = LabelPriority.score(new float[] {1f, 0f}, 0.0, true);
    LabelPriority.Score unsureBefore = LabelPriority.score(new float[] {0.5f, 0.5f}, 1.0, false);
    assertThat(sureAfter.priority()).isGreaterThan(unsureBefore.priority());
    assertThat(unsureBefore.priority()).isEqualTo(1.0, org.assertj.core.data.Offset.offset(1e-9));
    // no reference yet: novelty counts as typical
    assertThat(LabelPriority.score(new float[] {1f, 0f}, Double.NaN, false).novelty()).isEqualTo(0.5);
  }

  @Test
  void noveltyIsAboutOneHalfOnTheReferencesOwnDistributionAndNearOneFarFromIt() {
    Random rnd = new Random(7);
    LabelPriority.Reference ref = new LabelPriority.Reference(300, 50, 1);
    assertThat(ref.novelty(gaussian(rnd, 8, 0))).isNaN();
    for (int i = 0; i < 2000; i++) {
      ref.add(gaussian(rnd, 8, 0));
    }
    assertThat(ref.ready()).isTrue();
    assertThat(ref.size()).isEqualTo(300);
    double typical = 0;
    double far = 0;
    for (int i = 0; i < 200; i++) {
      typical += ref.novelty(gaussian(rnd, 8, 0)) / 200;
      far += ref.novelty(gaussian(rnd, 8, 6)) / 200;
    }
    assertThat(typical).isBetween(0.4, 0.6);
    assertThat(far).isGreaterThan(0.8);
    assertThatThrownBy(() -> ref.novelty(new float[3])).hasMessageContaining("3 values");
  }

  @Test
  void selectionTakesTheBestOfEachPredictedClassInTurn() {
    int[] predicted = {0, 0, 0, 1, 1, 2};
    double[] priority = {0.9, 0.8, 0.7, 0.5, 0.4, 0.1};
    assertThat(LabelPriority.select(predicted, priority, 4)).containsExactly(0, 3, 5, 1);
    assertThat(LabelPriority.select(predicted, priority, 10)).containsExactly(0, 3, 5, 1, 4, 2);
    assertThat(LabelPriority.select(predicted, priority, 0)).isEmpty();
  }

  private static float[] gaussian(Random rnd, int dims, double shift) {
    float[] v = new float[dims];
    for (int i = 0; i < dims; i++) {
      v[i] = (float) (rnd.nextGaussian() + shift);
    }
    return v;
  }
}
