package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;

class FineTunerTest {
  @Test
  void shouldTrainOnlyTheLayersAboveTheBoundaryAndRecoverAShiftedDomain() {
    MultiLayerNetwork base = TestModels.trainedCnn(3_000, 42);
    FashionMnist.Split train = TestData.train();
    FashionMnist.Split test = TestData.test();
    List<float[]> images = new ArrayList<>();
    int[] labels = new int[1_500];
    for (int i = 0; i < 1_500; i++) {
      images.add(Corruption.INVERT.apply(train.images()[10_000 + i], 28, i));
      labels[i] = train.labels()[10_000 + i];
    }
    List<float[]> evalImages = new ArrayList<>();
    int[] evalLabels = new int[1_000];
    for (int i = 0; i < 1_000; i++) {
      evalImages.add(Corruption.INVERT.apply(test.images()[i], 28, i));
      evalLabels[i] = test.labels()[i];
    }
    double before = Pretrainer.accuracy(base, evalImages, evalLabels);
    var conv1Before = base.getLayer(Networks.layerIndex(base, "conv1")).params().dup();

    FineTuner.Result r = FineTuner.fineTune(base, "pool1", 1e-3, 2, 64, images, labels, 28, 5);

    assertThat(r.layersTrained()).containsExactly("conv2", "pool2", "fc", "head");
    MultiLayerNetwork tuned = r.network();
    assertThat(tuned.getLayer(Networks.layerIndex(tuned, "conv1")).params()).isEqualTo(conv1Before);
    assertThat(tuned.getLayer(Networks.layerIndex(tuned, "fc")).params())
        .isNotEqualTo(base.getLayer(Networks.layerIndex(base, "fc")).params());
    assertThat(base.getLayer(Networks.layerIndex(base, "conv1")).params()).as("the champion is untouched").isEqualTo(conv1Before);
    double after = Pretrainer.accuracy(tuned, evalImages, evalLabels);
    assertThat(after).as("accuracy on inverted images: before %.3f, after %.3f", before, after).isGreaterThan(before + 0.2);
    assertThat(r.loss()).isFinite();
  }

  @Test
  void shouldTellWhetherTheTrainedPartHoldsAConvolution() {
    MultiLayerNetwork cnn = Networks.cnn(28, 10, 1e-3, 1);
    assertThat(FineTuner.trainsConvolutions(cnn, "none")).isTrue();
    assertThat(FineTuner.trainsConvolutions(cnn, "pool1")).as("conv2 and pool2 train").isTrue();
    assertThat(FineTuner.trainsConvolutions(cnn, "pool2")).as("a dense top: fc and head").isFalse();
    assertThat(FineTuner.trainsConvolutions(cnn, "fc")).isFalse();
  }
}
