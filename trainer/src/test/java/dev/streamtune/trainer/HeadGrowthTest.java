package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

class HeadGrowthTest {
  private static MultiLayerNetwork net;
  private static INDArray images;

  @BeforeAll
  static void model() {
    net = TestModels.trainedCnn(1_000, 42);
    images = TestModels.dataSet(TestData.test(), 0, 200).getFeatures();
  }

  @Test
  void shouldKeepTheOldClassesLogitsAndStartTheNewOnesUnlikely() {
    INDArray before = net.output(images);

    MultiLayerNetwork grown = HeadGrowth.grow(net, 12, 7);

    INDArray after = grown.output(images);
    assertThat(after.shape()).containsExactly(200, 12);
    INDArray old = after.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 10));
    INDArray renormalised = old.divColumnVector(old.sum(1).reshape(200, 1));
    // same logits for the old classes: their probabilities are the old ones, renormalised over the old classes
    assertThat(renormalised.equalsWithEps(before, 1e-5)).as("old classes' renormalised probabilities").isTrue();
    double newShare = after.get(NDArrayIndex.all(), NDArrayIndex.interval(10, 12)).sumNumber().doubleValue() / 200;
    assertThat(newShare).as("probability the two new classes take at first").isLessThan(0.1);
    // the top class of every image is an old one: growing alone changes no answer
    assertThat(dev.streamtune.core.model.Networks.argMax(after)).containsExactly(dev.streamtune.core.model.Networks.argMax(before));
  }

  @Test
  void shouldCopyEveryOtherLayerAndLeaveTheInputNetworkUntouched() {
    INDArray paramsBefore = net.params().dup();

    MultiLayerNetwork grown = HeadGrowth.grow(net, 11, 7);

    for (int i = 0; i < net.getnLayers() - 1; i++) {
      assertThat(grown.getLayer(i).params()).as("layer %d", i).isEqualTo(net.getLayer(i).params());
    }
    int top = net.getnLayers() - 1;
    INDArray w = grown.getLayer(top).getParam("W");
    assertThat(w.shape()).containsExactly(128, 11);
    assertThat(w.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 10))).isEqualTo(net.getLayer(top).getParam("W"));
    assertThat(HeadGrowth.labelCount(grown)).isEqualTo(11);
    assertThat(HeadGrowth.labelCount(net)).isEqualTo(10);
    assertThat(net.params()).isEqualTo(paramsBefore);
  }

  @Test
  void shouldTrainTheGrownNetworkLikeAnyOther() {
    MultiLayerNetwork grown = HeadGrowth.grow(net, 11, 7);

    grown.fit(TestModels.dataSet(TestData.train(), 0, 64).getFeatures(),
        org.nd4j.linalg.factory.Nd4j.zeros(64, 11).putScalar(new long[] {0, 10}, 1));

    assertThat(grown.score()).isFinite();
  }

  @Test
  void shouldGiveFrozenActivationsOfAGrownNetworkThatNeverRanAnInput() {
    MultiLayerNetwork grown = HeadGrowth.grow(net, 12, 3);
    INDArray x = TestModels.dataSet(TestData.test(), 0, 5).getFeatures();

    INDArray fc = FineTuner.frozenActivations(grown, "fc", x);
    INDArray pool2 = FineTuner.frozenActivations(grown, "pool2", x);

    assertThat(fc.shape()).containsExactly(5, 128);
    assertThat(pool2.shape()).containsExactly(5, 3136);
  }

  @Test
  void shouldRefuseToShrinkTheHeadNamingBothCounts() {
    assertThatThrownBy(() -> HeadGrowth.grow(net, 9, 7)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("from 10 to 9");
  }

  @Test
  void shouldGrowAGraphsHeadKeepingTheOldClassesAndEveryOtherLayer() {
    org.deeplearning4j.nn.graph.ComputationGraph g = dev.streamtune.core.model.ResNets.build(3, 16, new int[] {4, 8}, 16, 4,
        1e-3, 3);
    dev.streamtune.core.model.Network grown = HeadGrowth.grow(dev.streamtune.core.model.Network.of(g), 6, 7);
    org.nd4j.linalg.factory.Nd4j.getRandom().setSeed(1);
    org.nd4j.linalg.api.ndarray.INDArray x = org.nd4j.linalg.factory.Nd4j.rand(org.nd4j.linalg.api.buffer.DataType.FLOAT, 5, 3,
        16, 16);
    org.nd4j.linalg.api.ndarray.INDArray before = g.outputSingle(x);
    org.nd4j.linalg.api.ndarray.INDArray after = grown.output(x);
    assertThat(after.shape()).containsExactly(5, 6);
    org.nd4j.linalg.api.ndarray.INDArray old = after.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 4));
    org.nd4j.linalg.api.ndarray.INDArray renormalised = old.divColumnVector(old.sum(1).reshape(5, 1));
    assertThat(org.nd4j.linalg.ops.transforms.Transforms.abs(renormalised.sub(before)).maxNumber().doubleValue())
        .isLessThan(1e-5);
    assertThat(after.get(org.nd4j.linalg.indexing.NDArrayIndex.all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(4, 6))
        .meanNumber().doubleValue()).isLessThan(1.0 / 6);
    assertThat(grown.graph().getLayer("block2_conv1").params()).isEqualTo(g.getLayer("block2_conv1").params());
    assertThat(grown.graph().getLayer("stem_bn").params()).isEqualTo(g.getLayer("stem_bn").params());
  }
}
