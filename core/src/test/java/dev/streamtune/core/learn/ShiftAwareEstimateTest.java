package dev.streamtune.core.learn;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ShiftAwareEstimateTest {
  static final int CLASSES = 10;
  static final int DIMS = 16;

  /** A reference of 300 answers: 30 per class, embeddings around each class's centre, right 9 times in 10 at 0.9. */
  private static ShiftAwareEstimate fitted(Random rnd) {
    int n = 300;
    double[] confidence = new double[n];
    boolean[] correct = new boolean[n];
    int[] label = new int[n];
    int[] predicted = new int[n];
    float[][] embeddings = new float[n][];
    for (int i = 0; i < n; i++) {
      label[i] = i % CLASSES;
      correct[i] = i % 10 != 3;
      predicted[i] = correct[i] ? label[i] : (label[i] + 1) % CLASSES;
      confidence[i] = 0.9;
      embeddings[i] = around(label[i], 0, rnd);
    }
    return ShiftAwareEstimate.fit(confidence, correct, label, predicted, embeddings, CLASSES, 0.02);
  }

  /** An embedding near class {@code k}'s centre, moved by {@code shift} along every axis. */
  private static float[] around(int k, double shift, Random rnd) {
    float[] e = new float[DIMS];
    for (int j = 0; j < DIMS; j++) {
      e[j] = (float) ((j == k ? 6 : 0) + shift + rnd.nextGaussian());
    }
    return e;
  }

  /** The estimate on 300 answers given with {@code confidence}: answer {@code i} is class {@code answer(i)}. */
  private static ShiftAwareEstimate.Estimate answered(ShiftAwareEstimate e, double confidence,
      java.util.function.IntUnaryOperator answer, java.util.function.IntFunction<float[]> embedding) {
    int n = 300;
    double[] c = new double[n];
    int[] p = new int[n];
    float[][] x = new float[n][];
    for (int i = 0; i < n; i++) {
      c[i] = confidence;
      p[i] = answer.applyAsInt(i);
      x[i] = embedding.apply(i);
    }
    return e.estimate(c, p, x);
  }

  @Test
  void shouldKeepThePlainEstimateOnInputsLikeTheReferenceEvenWhenTheClassMixChanges() {
    Random rnd = new Random(1);
    // four classes only: a label-prior shift, the images unchanged
    ShiftAwareEstimate.Estimate r = answered(fitted(rnd), 0.9, i -> i % 4, i -> around(i % 4, 0, rnd));
    assertThat(r.distanceRatio()).isBetween(0.7, 1.15);
    assertThat(r.unfamiliar()).isFalse();
    assertThat(r.estimate()).isCloseTo(0.9, within(1e-9)).isEqualTo(r.plain());
    assertThat(r.capped()).as("the cap would have been wrong here: four classes hold 10 %% each of the reference")
        .isCloseTo(0.4, within(0.05));
  }

  @Test
  void shouldHoldTheEstimateToTheClassPriorWhenConfidentAnswersComeFromUnlikeInputs() {
    Random rnd = new Random(2);
    // every input moved far from the reference, seven in ten answered "class 0" with full confidence
    ShiftAwareEstimate.Estimate r = answered(fitted(rnd), 0.99, i -> i % 10 < 7 ? 0 : i % 10,
        i -> around(i % CLASSES, 4, rnd));
    assertThat(r.distanceRatio()).isGreaterThan(ShiftAwareEstimate.UNFAMILIAR);
    assertThat(r.unfamiliar()).isTrue();
    assertThat(r.plain()).isGreaterThan(0.9);
    // at most the reference's 10 % of class 0 can be right answers "class 0", plus the three other classes' answers
    assertThat(r.estimate()).isEqualTo(r.capped()).isCloseTo(0.1 + 0.3 * 0.99, within(0.005));
  }

  @Test
  void shouldNotCallTheInputsUnlikeOnTooFewDistances() {
    ShiftAwareEstimate e = fitted(new Random(3));
    double[] ratios = new double[100];
    java.util.Arrays.fill(ratios, Double.NaN);
    ratios[0] = 5;
    ShiftAwareEstimate.Estimate r = e.estimate(new double[100], new int[100], ratios);
    assertThat(r.distanceRatio()).isEqualTo(5.0);
    assertThat(r.unfamiliar()).as("one distance of 100 answers").isFalse();
  }

  @Test
  void shouldRejectMismatchedInputs() {
    assertThatThrownBy(() -> ShiftAwareEstimate.fit(new double[3], new boolean[3], new int[2], new int[3], new float[3][2], 2,
        0.02)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("one outcome, label, answer and embedding");
    assertThatThrownBy(() -> ShiftAwareEstimate.fit(new double[2], new boolean[2], new int[] {0, 5}, new int[2],
        new float[2][2], 2, 0.02)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("class index outside");
    ShiftAwareEstimate e = fitted(new Random(4));
    assertThatThrownBy(() -> e.distanceRatio(new float[3])).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected an embedding of 16 values");
  }

  @Test
  void shouldHoldAWindowToTheClassPriorOnlyAfterItReadUnlikeTheReferenceForAWholeWindow() {
    Random rnd = new Random(5);
    ShiftAwareEstimate.Window w = new ShiftAwareEstimate.Window(100, 50);
    // answers before the reference is fitted: no estimate yet, measured once it is
    for (int i = 0; i < 60; i++) {
      w.add(0.9, i % CLASSES, around(i % CLASSES, 0, rnd));
    }
    assertThat(w.estimate().estimate()).isNaN();
    w.fit(fitted(rnd));
    assertThat(w.estimate().distanceRatio()).isLessThan(ShiftAwareEstimate.UNFAMILIAR);
    assertThat(w.estimate().estimate()).isCloseTo(0.9, within(1e-9));
    // then unlike inputs, all answered "class 0" with confidence: plain until the window has read unlike for 100 answers
    int firstHeld = -1;
    for (int i = 0; i < 300 && firstHeld < 0; i++) {
      w.add(0.99, 0, around(i % CLASSES, 4, rnd));
      if (w.estimate().unfamiliar()) {
        firstHeld = i;
      }
    }
    // the median ratio crosses 1.2 once about half the window is unlike (~50 answers), then 100 more in a row
    assertThat(firstHeld).isBetween(140, 160);
    assertThat(w.estimate().estimate()).isEqualTo(w.estimate().capped()).isCloseTo(0.1, within(0.01));
    assertThat(w.estimate().plain()).isGreaterThan(0.95);
  }
}
