package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PseudoLabelsTest {
  @Test
  void keepShareIsTheLargestPerClassShareWhoseKeptAnswersAreRightOftenEnough() {
    // 2 predicted classes of 20 answers each; in each, the 14 most confident are right, the 6 least confident wrong
    double[] confidence = new double[40];
    int[] predicted = new int[40];
    boolean[] right = new boolean[40];
    for (int i = 0; i < 40; i++) {
      predicted[i] = i % 2;
      // class 1 is far less sure of itself than class 0: a global threshold would keep class 0 only
      confidence[i] = (i % 2 == 0 ? 0.9 : 0.4) - (i / 2) * 0.01;
      right[i] = i / 2 < 14;
    }
    // keep 0.7: 14 of each, all right; 0.8: 16 of each, 28/32 = 0.875
    assertThat(PseudoLabels.keepShare(confidence, predicted, right, 0.95)).isEqualTo(0.7);
    assertThat(PseudoLabels.keepShare(confidence, predicted, right, 0.85)).isEqualTo(0.8);
    assertThat(PseudoLabels.precisionKept(confidence, predicted, right, 0.8)).isEqualTo(28 / 32.0);
    // the per-class share keeps both classes alike
    boolean[] kept = PseudoLabels.kept(confidence, predicted, 0.5);
    int[] perClass = new int[2];
    for (int i = 0; i < 40; i++) {
      perClass[predicted[i]] += kept[i] ? 1 : 0;
    }
    assertThat(perClass).containsExactly(10, 10);
    // nothing reaches a precision no share gives with 20 kept
    boolean[] allWrong = new boolean[40];
    assertThat(PseudoLabels.keepShare(confidence, predicted, allWrong, 0.5)).isNaN();
  }

  @Test
  void selectionKeepsEachClassesMostConfidentShareInProportionToTheLabelledClassesUpToTheCap() {
    // 3 classes: 30 inputs predicted class 0 (sure), 10 predicted class 2 (unsure), none class 1
    float[][] p = new float[40][];
    for (int i = 0; i < 40; i++) {
      float top = i < 30 ? 0.6f + i * 0.01f : 0.4f + (i - 30) * 0.01f;
      p[i] = i < 30 ? new float[] {top, (1 - top) / 2, (1 - top) / 2} : new float[] {0.3f, 0.2f, top};
    }
    // keep half of each class: 15 of class 0, 5 of class 2; labelled 10, 0, 9: class 2's 5 allow 5 / (9/19) = 10.6 in all,
    // 5 of class 0 and 5 of class 2
    PseudoLabels.Selection s = PseudoLabels.select(p, 0.5, new int[] {10, 0, 9}, 22, 0.97, 30);

    assertThat(s.perClass()).containsExactly(5, 0, 5);
    assertThat(s.count()).isEqualTo(10);
    assertThat(s.above()).isEqualTo(20);
    // class 0's quota went to its most confident inputs, class 2's unsure answers were taken too (their own share)
    assertThat(s.indices()[0]).isEqualTo(29);
    assertThat(s.labels()).containsOnly(0, 2);
    assertThat(s.describe()).contains("10 pseudo-labels from 40").contains("50%");
    // the cap binds first: 4 in all, in the labelled proportions
    assertThat(PseudoLabels.select(p, 0.5, new int[] {10, 0, 10}, 4, 0.97, 30).perClass()).containsExactly(2, 0, 2);
    // a labelled class with no kept answer gets none, the others keep their proportions while it holds at most 20 % of the
    // labels; above that, none at all
    assertThat(PseudoLabels.select(p, 0.5, new int[] {10, 4, 10}, 22, 0.97, 30).perClass()).containsExactly(5, 0, 5);
    assertThat(PseudoLabels.select(p, 0.5, new int[] {10, 5, 9}, 22, 0.97, 30).count()).isZero();
    assertThat(PseudoLabels.select(p, Double.NaN, new int[] {10, 0, 9}, 22, Double.NaN, 30).count()).isZero();
  }

  @Test
  void optionsNameTheirKeyAndCapTheShareOfTheTrainingSet() {
    assertThat(PseudoLabels.Options.parse(0.3, 0.95).cap(700)).isEqualTo(300);
    assertThat(PseudoLabels.Options.OFF.cap(700)).isZero();
    assertThatThrownBy(() -> PseudoLabels.Options.parse(0.95, 0.95)).isInstanceOf(ConfigException.class)
        .hasMessageContaining(PseudoLabels.KEY);
    assertThatThrownBy(() -> PseudoLabels.Options.parse(0.3, 0)).isInstanceOf(ConfigException.class)
        .hasMessageContaining(PseudoLabels.PRECISION_KEY);
  }

  /**
   * The two fine-tunes on a real CNN: the labelled samples of a domain the network already answers for every class (unseen clean
   * images), served images of it without a label. The calibration set is held out of the first fine-tune, the pseudo-labels are
   * mostly right and in the labelled classes' proportions, and the second fine-tune trains on them without losing accuracy.
   * (What they gain on shifted images is measured by {@code eval}'s label-efficiency curves.)
   */
  @Test
  void shouldPseudoLabelMostlyRightInTheLabelledProportionsAndTrainOnThem() {
    Network parent = Network.of(TestModels.trainedCnn(3_000, 42));
    FashionMnist.Split train = TestData.train();
    FashionMnist.Split test = TestData.test();
    int fresh = 500;
    List<String> ids = new ArrayList<>();
    List<float[]> images = new ArrayList<>();
    int[] labels = new int[fresh];
    int[] perClassLabelled = new int[10];
    for (int i = 0; i < fresh; i++) {
      int k = 10_000 + i;
      ids.add("new-" + k);
      images.add(train.images()[k]);
      labels[i] = train.labels()[k];
      perClassLabelled[labels[i]]++;
    }
    List<String> unlabelledIds = new ArrayList<>();
    List<float[]> unlabelled = new ArrayList<>();
    int[] truth = new int[1_000];
    for (int i = 0; i < truth.length; i++) {
      int k = 20_000 + i;
      unlabelledIds.add("served-" + k);
      unlabelled.add(train.images()[k]);
      truth[i] = train.labels()[k];
    }
    List<float[]> testImages = new ArrayList<>();
    int[] testLabels = new int[1_000];
    for (int i = 0; i < 1_000; i++) {
      testImages.add(test.images()[i]);
      testLabels[i] = test.labels()[i];
    }
    ModelSpec spec = Networks.spec(28, FashionMnist.LABELS, "pool2");
    Preprocessor pre = Preprocessor.of(spec);
    FreezePlan plan = new FreezePlan("pool2", 1e-3, 0.1, "test");
    Retrainer r = new Retrainer(TestData.tempDir("pseudo-cache"), 64L << 20, 64L << 20, 2, 64, 7, 0);
    PseudoLabels.Options options = new PseudoLabels.Options(0.5, 0.8, 0.2);

    Network plain = r.retrain(parent, "parent-pool2", parent, spec, plan, ids, images, labels, fresh, (u, ms) -> { }).model();
    Retrainer.PseudoResult pseudo = r.retrainWithPseudoLabels(parent, "parent-pool2", parent, spec, plan, ids, images, labels,
        fresh, unlabelledIds, unlabelled, options, (u, ms) -> { });

    PseudoLabels.Selection s = pseudo.selection();
    int right = 0;
    for (int k = 0; k < s.count(); k++) {
      right += s.labels()[k] == truth[s.indices()[k]] ? 1 : 0;
    }
    double plainAcc = Networks.accuracy(plain, pre, testImages, testLabels);
    double pseudoAcc = Networks.accuracy(pseudo.result().model(), pre, testImages, testLabels);
    System.out.printf("pseudo-labels: %s; %d/%d right; accuracy plain %.3f, with pseudo-labels %.3f%n", s.describe(), right,
        s.count(), plainAcc, pseudoAcc);

    assertThat(s.calibrationSize()).isEqualTo(100);
    assertThat(s.count()).as(s.describe()).isGreaterThan(50).isLessThanOrEqualTo(options.cap(fresh));
    assertThat(right / (double) s.count()).as("share of right pseudo-labels").isGreaterThan(0.75);
    for (int c = 0; c < 10; c++) {
      // the labelled proportion of the pseudo-labels, to within one (the floor)
      assertThat((double) s.perClass()[c]).as("class " + c).isCloseTo(s.count() * perClassLabelled[c] / (double) fresh,
          org.assertj.core.data.Offset.offset(1.0 + s.count() * 0.02));
    }
    assertThat(pseudoAcc).as("unseen clean images: plain %.3f, with pseudo-labels %.3f", plainAcc, pseudoAcc)
        .isGreaterThan(plainAcc - 0.02);
  }
}
