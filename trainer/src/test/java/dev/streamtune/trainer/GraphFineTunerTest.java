package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.model.ResNets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.ops.transforms.Transforms;

/** Fine-tuning a residual graph above a block boundary, on images and on cached activations. */
class GraphFineTunerTest {
  private static final ModelSpec SPEC = new ModelSpec(List.of(3, 16, 16), null, List.of("dark", "mid", "bright"),
      List.of("stem", "block1", "block2", "pool", "fc", "head"), "pool", ModelSpec.NetworkType.GRAPH, null, null, null, "fc",
      null);
  private static final Preprocessor PRE = Preprocessor.of(SPEC);

  /** Images whose label is their brightness (dark, mid, bright), with noise: learnable from an untrained backbone's pooled features. */
  private static List<float[]> images(int n, int[] labels, long seed) {
    Random rnd = new Random(seed);
    List<float[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      labels[i] = rnd.nextInt(3);
      float[] px = new float[3 * 256];
      for (int c = 0; c < 3; c++) {
        for (int p = 0; p < 256; p++) {
          px[c * 256 + p] = (float) Math.min(1, Math.max(0, 0.2 + 0.3 * labels[i] + rnd.nextGaussian() * 0.1));
        }
      }
      out.add(px);
    }
    return out;
  }

  @Test
  void shouldTrainOnlyAboveTheBoundaryAndLearnTheSameFromImagesAndFromCachedActivations() {
    ComputationGraph champion = ResNets.build(3, 16, new int[] {4, 8}, 16, 3, 1e-3, 11);
    INDArray before = champion.params().dup();
    int[] labels = new int[600];
    List<float[]> train = images(600, labels, 1);
    int[] testLabels = new int[300];
    List<float[]> test = images(300, testLabels, 2);
    double accBefore = Networks.accuracy(Network.of(champion), PRE, test, testLabels);
    FreezePlan plan = new FreezePlan("pool", 3e-2, 0.1, "test");

    FineTuner.Result fromImages = GraphFineTuner.fineTune(champion, plan, 8, 32, train, labels, PRE, 5);
    INDArray flat = GraphFineTuner.frozenActivations(champion, "pool", PRE.batch(train));
    long[] shape = GraphFineTuner.activationShape(champion, "pool", SPEC.batchShape(1));
    FineTuner.Result fromCache = GraphFineTuner.fineTuneFromFeatures(champion, plan, 8, 32, flat, shape, labels, 5);

    assertThat(champion.params()).as("the champion is not modified").isEqualTo(before);
    assertThat(fromImages.layersTrained()).containsExactly("fc", "head");
    assertThat(fromImages.layerRates()).isEqualTo(Map.of("fc", 3e-2, "head", 3e-2));
    ComputationGraph tuned = fromImages.model().graph();
    assertThat(tuned.getLayer("block2_conv2").params()).isEqualTo(champion.getLayer("block2_conv2").params());
    assertThat(tuned.getLayer("stem_bn").params()).isEqualTo(champion.getLayer("stem_bn").params());
    assertThat(tuned.getLayer("fc").params()).isNotEqualTo(champion.getLayer("fc").params());

    double diff = Transforms.abs(fromCache.model().params().sub(fromImages.model().params())).maxNumber().doubleValue();
    assertThat(diff).as("cached activations train the same weights as recomputing them").isLessThan(1e-3);
    double accAfter = Networks.accuracy(fromImages.model(), PRE, test, testLabels);
    assertThat(accAfter).as("accuracy before %.3f", accBefore).isGreaterThan(0.8).isGreaterThan(accBefore + 0.2);
    assertThat(Networks.accuracy(fromCache.model(), PRE, test, testLabels)).isGreaterThan(0.8);
  }

  @Test
  void shouldReestimateOnlyTheTrainedBatchNormLayers() {
    ComputationGraph champion = ResNets.build(3, 16, new int[] {4, 8}, 16, 3, 1e-3, 11);
    int[] labels = new int[256];
    List<float[]> train = images(256, labels, 4);
    FineTuner.Result r = GraphFineTuner.fineTune(champion, new FreezePlan("block1", 3e-2, 0.3, "test"), 2, 32, train, labels,
        PRE, 5);
    INDArray trainedMean = r.model().graph().getLayer("block2_bn1").getParam("mean").dup();
    assertThat(GraphFineTuner.recalibrate(r, train, PRE, 256)).isEqualTo(3);
    ComputationGraph g = r.model().graph();
    assertThat(g.getLayer("stem_bn").getParam("mean")).as("frozen: the champion's").isEqualTo(champion.getLayer("stem_bn")
        .getParam("mean"));
    assertThat(g.getLayer("block2_bn1").getParam("mean")).isNotEqualTo(trainedMean);
    // the re-estimated mean is the mean of the layer's input over the images, per channel
    INDArray in = r.model().activations("block2_conv1", PRE.batch(train));
    INDArray expected = in.mean(0, 2, 3);
    assertThat(Transforms.abs(g.getLayer("block2_bn1").getParam("mean").reshape(expected.shape()).sub(expected)).maxNumber()
        .doubleValue()).isLessThan(1e-4);
  }

  @Test
  void shouldJudgeAnInterpolatedGraphWithItsBatchNormStatisticsReestimated() {
    ComputationGraph champion = ResNets.build(3, 16, new int[] {4, 8}, 16, 3, 1e-3, 11);
    int[] labels = new int[256];
    List<float[]> train = images(256, labels, 4);
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < train.size(); i++) {
      ids.add("g-" + i);
    }
    Network parent = Network.of(champion);
    Retrainer r = new Retrainer(dev.streamtune.core.testing.TestData.tempDir("graph-interpolation"), 16L << 20, 16L << 20, 2, 32,
        5, 0).with(Interpolation.keeping(0.5));

    FineTuner.Result moved = r.retrain(parent, "g", parent, SPEC, new FreezePlan("block1", 3e-2, 0.3, "test"), ids, train, labels,
        train.size(), (u, ms) -> { });

    System.out.println("graph interpolation: " + moved.interpolation());
    assertThat(moved.interpolation()).as("a mix is kept, so its statistics are the ones checked below").startsWith("α 0.")
        .contains("on 256 new-domain images");
    ComputationGraph g = moved.model().graph();
    assertThat(g.getLayer("stem_bn").getParam("mean")).as("frozen: the champion's").isEqualTo(champion.getLayer("stem_bn")
        .getParam("mean"));
    // the kept mix's trained batch-norm layers hold its own statistics over the images, not a mix of two models'
    INDArray in = moved.model().activations("block2_conv1", PRE.batch(train));
    INDArray expected = in.mean(0, 2, 3);
    assertThat(Transforms.abs(g.getLayer("block2_bn1").getParam("mean").reshape(expected.shape()).sub(expected)).maxNumber()
        .doubleValue()).isLessThan(1e-4);
  }

  @Test
  void shouldTrainTheLastBlockAtALowerRateBelowABlockBoundary() {
    ComputationGraph champion = ResNets.build(3, 16, new int[] {4, 8}, 16, 3, 1e-3, 11);
    FreezePlan plan = new FreezePlan("block1", 1e-3, 0.1, "test");
    Map<String, Double> rates = GraphFineTuner.layerRates(champion, plan);
    assertThat(rates).containsEntry("fc", 1e-3).containsEntry("head", 1e-3).containsEntry("block2_conv1", 1e-4)
        .containsEntry("block2_proj_bn", 1e-4).doesNotContainKey("block1_conv2").doesNotContainKey("stem_conv");
    int[] labels = new int[64];
    FineTuner.Result r = GraphFineTuner.fineTune(champion, plan, 1, 32, images(64, labels, 3), labels, PRE, 1);
    assertThat(r.model().graph().getLayer("block1_conv2").params()).isEqualTo(champion.getLayer("block1_conv2").params());
    assertThat(r.model().graph().getLayer("block2_conv1").params()).isNotEqualTo(champion.getLayer("block2_conv1").params());
  }
}
