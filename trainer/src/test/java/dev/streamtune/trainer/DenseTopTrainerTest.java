package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.image.Images;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import dev.streamtune.trainer.internal.DenseTopTrainer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/** The dense-top trainer learns what DL4J's fit learns, on the same batches, to float rounding. */
class DenseTopTrainerTest {
  private static MultiLayerNetwork champion;
  private static List<float[]> images;
  private static int[] labels;
  private static INDArray evalImages;

  @BeforeAll
  static void data() {
    champion = TestModels.trainedCnn(1_000, 42);
    images = new ArrayList<>();
    // 300 samples: batches of 64 and a last one of 44
    for (int i = 0; i < 300; i++) {
      images.add(TestData.train().images()[5_000 + i]);
    }
    labels = Arrays.copyOfRange(TestData.train().labels(), 5_000, 5_300);
    evalImages = TestModels.dataSet(TestData.test(), 0, 500).getFeatures();
  }

  private static void assertSameLearning(String boundary) {
    FreezePlan plan = FreezePlan.uniform(boundary, 3e-3, "test");
    INDArray features = FineTuner.frozenActivations(champion, boundary, Images.batch(images, 28, 28));
    assertThat(DenseTopTrainer.supports(FineTuner.headNetwork(champion, boundary, FineTuner.layerRates(champion, plan), 28, 1)))
        .as("the dense top above %s is trained by the fast path", boundary).isTrue();

    FineTuner.Result fast = FineTuner.fineTuneFromFeatures(champion, plan, 3, 64, features, labels, 28, 5, true);
    FineTuner.Result dl4j = FineTuner.fineTuneFromFeatures(champion, plan, 3, 64, features, labels, 28, 5, false);

    INDArray diff = Transforms.abs(fast.network().params().sub(dl4j.network().params()));
    double moved = Transforms.abs(dl4j.network().params().sub(champion.params())).maxNumber().doubleValue();
    assertThat(moved).as("training changed the weights").isGreaterThan(1e-3);
    assertThat(diff.maxNumber().doubleValue()).as("largest weight difference (weights moved up to %s)", moved)
        .isLessThan(1e-4);
    assertThat(fast.loss()).isCloseTo(dl4j.loss(), org.assertj.core.data.Offset.offset(1e-5));
    assertThat(Networks.argMax(fast.network().output(evalImages)))
        .isEqualTo(Networks.argMax(dl4j.network().output(evalImages)));
  }

  @Test
  void shouldLearnWhatDl4jLearnsForFcAndHead() {
    assertSameLearning("pool2");
  }

  @Test
  void shouldLearnWhatDl4jLearnsForTheHeadAlone() {
    assertSameLearning("fc");
  }

  @Test
  void shouldLeaveAConvolutionalTopToDl4j() {
    FreezePlan plan = FreezePlan.uniform("pool1", 1e-3, "test");

    assertThat(DenseTopTrainer.supports(FineTuner.headNetwork(champion, "pool1", FineTuner.layerRates(champion, plan), 28, 1)))
        .isFalse();
  }
}
