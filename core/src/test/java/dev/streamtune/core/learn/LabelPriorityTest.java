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
    assertThat(ref.typical()).as("novelty 90 %% of the reference stays under").isBetween(typical, 0.75);
    assertThatThrownBy(() -> ref.novelty(new float[3])).hasMessageContaining("3 values");
  }

  @Test
  void outsideTheDriftRegionTheBatchIsUncertainAndDiverse() {
    // two clusters of sure answers and one of unsure ones, none in a drift region
    float[][] p = new float[10][];
    float[][] h = new float[10][];
    for (int i = 0; i < 10; i++) {
      p[i] = i < 4 ? new float[] {0.98f, 0.01f, 0.01f} : i < 8 ? new float[] {0.01f, 0.98f, 0.01f} : new float[] {0.4f, 0.2f, 0.4f};
      h[i] = i < 4 ? new float[] {1, 0, i * 1e-3f} : i < 8 ? new float[] {0, 1, i * 1e-3f} : new float[] {1, 1, 0};
    }
    boolean[] drift = new boolean[10];
    int[] one = LabelPriority.selectBatch(p, h, drift, 1, 1);
    assertThat(one[0]).as("the longest gradient embedding: an unsure answer").isIn(8, 9);
    int[] three = LabelPriority.selectBatch(p, h, drift, 3, 2);
    assertThat(java.util.Arrays.stream(three).map(i -> i < 4 ? 0 : i < 8 ? 1 : 2).distinct().count())
        .as("one of each cluster before any repeats").isEqualTo(3);
    assertThat(LabelPriority.selectBatch(p, h, drift, 20, 3)).hasSize(10).doesNotHaveDuplicates();
    assertThat(LabelPriority.gradientEmbedding(new float[] {0.75f, 0.25f}, new float[] {2, 4}))
        .containsExactly(-0.5f, -1f, 0.5f, 1f);
  }

  @Test
  void inTheDriftRegionTheBatchIsAUniformSampleAndComesFirst() {
    int m = 350;
    float[][] p = new float[m][];
    float[][] h = new float[m][];
    boolean[] drift = new boolean[m];
    for (int i = 0; i < m; i++) {
      p[i] = i % 2 == 0 ? new float[] {0.5f, 0.5f} : new float[] {0.99f, 0.01f};
      h[i] = new float[] {i, 0};
      drift[i] = i < 300;
    }
    int[] batch = LabelPriority.selectBatch(p, h, drift, 60, 7);
    assertThat(batch).hasSize(60).doesNotHaveDuplicates();
    assertThat(java.util.Arrays.stream(batch).allMatch(i -> i < 300)).as("only the drift region while it has enough").isTrue();
    assertThat(java.util.Arrays.stream(batch).filter(i -> i < 150).count()).as("spread over the region").isBetween(15L, 45L);
    assertThat(java.util.Arrays.stream(batch).filter(i -> i % 2 == 0).count()).as("unsure and sure answers alike")
        .isBetween(15L, 45L);
    int[] more = LabelPriority.selectBatch(p, h, drift, 320, 7);
    assertThat(more).hasSize(320).doesNotHaveDuplicates();
    assertThat(java.util.Arrays.stream(more, 0, 300).allMatch(i -> i < 300)).as("the drift region first, then the others")
        .isTrue();
  }

  private static float[] gaussian(Random rnd, int dims, double shift) {
    float[] v = new float[dims];
    for (int i = 0; i < dims; i++) {
      v[i] = (float) (rnd.nextGaussian() + shift);
    }
    return v;
  }
}
