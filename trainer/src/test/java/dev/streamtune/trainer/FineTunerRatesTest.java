package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Per-layer learning rates (DL4J-NOTES pitfall 1) and the small head network trained on frozen activations (pitfall 2). */
class FineTunerRatesTest {
  private static MultiLayerNetwork base;
  private static DataSet batch;

  @BeforeAll
  static void model() {
    base = TestModels.trainedCnn(1_000, 42);
    batch = TestModels.dataSet(TestData.train(), 20_000, 20_064);
  }

  @Test
  void shouldSlowEachConvBlockBelowTheDenseTopByTheFactor() {
    Map<String, Double> rates = FineTuner.layerRates(base, new FreezePlan("none", 1e-3, 0.1, "test"));

    assertThat(rates.keySet()).containsExactly("conv1", "conv2", "fc", "head");
    assertThat(rates.get("head")).isEqualTo(1e-3);
    assertThat(rates.get("fc")).isEqualTo(1e-3);
    assertThat(rates.get("conv2")).isCloseTo(1e-4, within(1e-12));
    assertThat(rates.get("conv1")).isCloseTo(1e-5, within(1e-12));
    assertThat(FineTuner.layerRates(base, new FreezePlan("pool2", 1e-3, 0.1, "test")).keySet()).containsExactly("fc", "head");
  }

  @Test
  void shouldGiveEachTrainedLayerItsOwnRateAndLeaveTheChampionsRatesAlone() {
    double[] championRates = rates(base);

    MultiLayerNetwork tuned = FineTuner.trainable(base, new FreezePlan("pool1", 1e-3, 0.1, "test"));

    assertThat(tuned.getLearningRate(Networks.layerIndex(base, "conv2"))).isCloseTo(1e-4, within(1e-12));
    assertThat(tuned.getLearningRate(Networks.layerIndex(base, "fc"))).isEqualTo(1e-3);
    assertThat(tuned.getLearningRate(Networks.layerIndex(base, "head"))).isEqualTo(1e-3);
    assertThat(rates(base)).as("the champion's rates").containsExactly(championRates);
    assertThat(championRates[Networks.layerIndex(base, "conv2")]).isEqualTo(1e-3);
  }

  @Test
  void shouldMoveEachLayerByItsOwnRateInTheFirstAdamStep() {
    // Adam's first step moves every weight by about the learning rate (m/sqrt(v) = ±1): the largest move shows the rate used
    MultiLayerNetwork tuned = FineTuner.trainable(base, new FreezePlan("pool1", 1e-3, 0.1, "test"));
    Map<String, INDArray> before = paramsByLayer(tuned);

    tuned.fit(batch);

    Map<String, INDArray> after = paramsByLayer(tuned);
    assertThat(maxMove(before, after, "conv1")).isEqualTo(0.0);
    assertThat(maxMove(before, after, "conv2")).isCloseTo(1e-4, within(1e-5));
    assertThat(maxMove(before, after, "fc")).isCloseTo(1e-3, within(1e-4));
    assertThat(maxMove(before, after, "head")).isCloseTo(1e-3, within(1e-4));
    assertThat(base.getLayer(Networks.layerIndex(base, "fc")).params()).isEqualTo(before.get("fc"));
  }

  @Test
  void shouldAnswerLikeTheFullModelFromFrozenActivations() {
    INDArray x = batch.getFeatures();
    INDArray expected = base.output(x);
    for (String boundary : List.of("pool1", "conv2", "pool2", "fc")) {
      Map<String, Double> rates = FineTuner.layerRates(base, new FreezePlan(boundary, 1e-3, 0.1, "test"));
      MultiLayerNetwork head = FineTuner.headNetwork(base, boundary, rates, 28, 1);

      INDArray features = FineTuner.frozenActivations(base, boundary, x);
      INDArray got = head.output(features);

      assertThat(features.rank()).isEqualTo(2);
      assertThat(got.equalsWithEps(expected, 1e-6)).as("head above %s answers like the full model", boundary).isTrue();
      if (boundary.equals("pool2")) {
        assertThat(features.size(1)).isEqualTo(3136);
      }
    }
  }

  @Test
  void shouldGiveTheHeadNetworksLayersTheirOwnRates() {
    Map<String, Double> rates = FineTuner.layerRates(base, new FreezePlan("pool1", 1e-3, 0.1, "test"));
    MultiLayerNetwork head = FineTuner.headNetwork(base, "pool1", rates, 28, 1);
    Map<String, INDArray> before = paramsByLayer(head);

    head.fit(new DataSet(FineTuner.frozenActivations(base, "pool1", batch.getFeatures()), batch.getLabels()));

    assertThat(head.getLearningRate(0)).isCloseTo(1e-4, within(1e-12));
    assertThat(maxMove(before, paramsByLayer(head), "conv2")).isCloseTo(1e-4, within(1e-5));
    assertThat(maxMove(before, paramsByLayer(head), "head")).isCloseTo(1e-3, within(1e-4));
  }

  @Test
  void shouldRecoverAShiftedDomainFromFrozenActivationsAndKeepTheFrozenLayers() {
    MultiLayerNetwork champion = TestModels.trainedCnn(3_000, 42);
    FashionMnist.Split train = TestData.train();
    FashionMnist.Split test = TestData.test();
    List<float[]> images = new ArrayList<>();
    int[] labels = new int[1_500];
    for (int i = 0; i < labels.length; i++) {
      images.add(Corruption.INVERT.apply(train.images()[10_000 + i], 28, i));
      labels[i] = train.labels()[10_000 + i];
    }
    List<float[]> evalImages = new ArrayList<>();
    int[] evalLabels = new int[1_000];
    for (int i = 0; i < evalLabels.length; i++) {
      evalImages.add(Corruption.INVERT.apply(test.images()[i], 28, i));
      evalLabels[i] = test.labels()[i];
    }
    double before = Pretrainer.accuracy(champion, evalImages, evalLabels);
    INDArray conv2 = champion.getLayer(Networks.layerIndex(champion, "conv2")).params().dup();
    INDArray features = FineTuner.frozenActivations(champion, "pool2",
        dev.streamtune.core.image.Images.batch(images, 28, 28));

    FineTuner.Result r = FineTuner.fineTuneFromFeatures(champion, new FreezePlan("pool2", 1e-3, 0.1, "test"), 3, 64, features,
        labels, 28, 5);

    double after = Pretrainer.accuracy(r.network(), evalImages, evalLabels);
    assertThat(after).as("accuracy on inverted images: before %.3f, after %.3f", before, after).isGreaterThan(before + 0.2);
    assertThat(r.network().getLayer(Networks.layerIndex(champion, "conv2")).params()).isEqualTo(conv2);
    assertThat(r.layersTrained()).containsExactly("fc", "head");
    assertThat(r.layerRates()).containsOnlyKeys("fc", "head");
  }

  private static double[] rates(MultiLayerNetwork net) {
    double[] out = new double[net.getnLayers()];
    for (int i = 0; i < out.length; i++) {
      Double r = net.getLearningRate(i);
      out[i] = r == null ? Double.NaN : r;
    }
    return out;
  }

  private static Map<String, INDArray> paramsByLayer(MultiLayerNetwork net) {
    Map<String, INDArray> out = new java.util.HashMap<>();
    for (int i = 0; i < net.getnLayers(); i++) {
      String name = net.getLayer(i).conf().getLayer().getLayerName();
      if (net.getLayer(i).numParams() > 0) {
        out.put(name, net.getLayer(i).params().dup());
      }
    }
    return out;
  }

  private static double maxMove(Map<String, INDArray> before, Map<String, INDArray> after, String layer) {
    return Transforms.abs(after.get(layer).sub(before.get(layer))).maxNumber().doubleValue();
  }
}
