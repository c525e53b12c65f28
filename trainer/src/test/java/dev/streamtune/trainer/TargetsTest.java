package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class TargetsTest {
  @Test
  void shouldMixOnlyTheReplayedRowsWithTheParentsAnswer() {
    // rows 0-1 new-domain, rows 2-3 replayed; the parent has 3 of the 4 classes (a head grown since)
    INDArray parent = Nd4j.createFromArray(new float[][] {{0.7f, 0.2f, 0.1f}, {0.1f, 0.1f, 0.8f}});
    Targets t = Targets.distilled(new int[] {3, 1, 0, 1}, 4, parent, 2, 0.25);

    INDArray y = t.all();
    assertThat(y.getRow(0).toFloatVector()).containsExactly(0f, 0f, 0f, 1f);
    assertThat(y.getRow(1).toFloatVector()).containsExactly(0f, 1f, 0f, 0f);
    float[] r2 = y.getRow(2).toFloatVector();
    assertThat(r2[0]).isCloseTo(0.75f + 0.25f * 0.7f, within(1e-6f));
    assertThat(r2[1]).isCloseTo(0.25f * 0.2f, within(1e-6f));
    assertThat(r2[2]).isCloseTo(0.25f * 0.1f, within(1e-6f));
    assertThat(r2[3]).isZero();
    float[] r3 = y.getRow(3).toFloatVector();
    assertThat(r3[1]).isCloseTo(0.75f + 0.25f * 0.1f, within(1e-6f));
    assertThat(r3[2]).isCloseTo(0.25f * 0.8f, within(1e-6f));
    for (int i = 0; i < 4; i++) {
      assertThat(y.getRow(i).sumNumber().doubleValue()).as("row %d is a distribution", i).isCloseTo(1.0, within(1e-6));
    }
    assertThat(t.rows(new int[] {3, 0}).getRow(1).toFloatVector()).containsExactly(0f, 0f, 0f, 1f);
  }

  @Test
  void shouldRefuseAWeightOfOneAndAnswersThatDoNotFit() {
    INDArray parent = Nd4j.createFromArray(new float[][] {{0.5f, 0.5f}});
    assertThatThrownBy(() -> Targets.distilled(new int[] {0, 1}, 2, parent, 1, 1.0)).hasMessageContaining("[0, 1)");
    assertThatThrownBy(() -> Targets.distilled(new int[] {0, 1}, 2, parent, 0, 0.5)).hasMessageContaining("do not fit");
    assertThatThrownBy(() -> Targets.oneHot(new int[] {2}, 2)).hasMessageContaining("outside the 2 outputs");
  }
}
