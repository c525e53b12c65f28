package dev.streamtune.core.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.function.Supplier;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.graph.ComputationGraph;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The default build computes on oneDNN through DL4J's layer helpers, and gives the same answers and the same training step as
 * DL4J's built-in path. Tolerances: outputs (softmax probabilities) within 1e-4 absolute; parameters after one Adam step within
 * 1e-4 absolute (the step itself moves them by ~1e-3: the two paths sum in different orders, float32).
 */
class Dl4jRuntimeTest {
  private static final double OUTPUT_TOLERANCE = 1e-4;
  private static final double STEP_TOLERANCE = 1e-4;

  @BeforeAll
  static void onTheDefaultBuild() {
    Dl4jRuntime.init();
    assumeTrue(System.getProperty("os.arch", "").matches("amd64|x86_64"), "oneDNN helpers are checked on x86-64");
    assumeTrue(System.getProperty("streamtune.test.nd4j.classifier", "linux-x86_64-onednn").endsWith("-onednn"),
        "built with another ND4J build (-Pcpu-plain or -Pcuda)");
  }

  @Test
  void shouldEngageTheOneDnnHelpersOnTheDefaultBuild() {
    Dl4jRuntime.Status s = Dl4jRuntime.init();
    assertThat(s.backend()).isEqualToIgnoringCase("CPU");
    assertThat(s.build()).isEqualTo("onednn");
    assertThat(s.helper()).isEqualTo("MKLDNNConvHelper");
    assertThat(s.describe()).contains("helpers on");

    MultiLayerNetwork cnn = Networks.cnn(28, 10, 1e-3, 1);
    assertThat(helperOf(cnn.getLayer(Networks.layerIndex(cnn, "conv1")))).isEqualTo("MKLDNNConvHelper");
    assertThat(helperOf(cnn.getLayer(Networks.layerIndex(cnn, "pool1")))).isEqualTo("MKLDNNSubsamplingHelper");
    ComputationGraph graph = ResNets.build(3, 16, new int[] {8, 16}, 16, 4, 1e-3, 1);
    assertThat(helperOf(graph.getLayer("block1_bn1"))).isEqualTo("MKLDNNBatchNormHelper");
    assertThat(helperOf(graph.getLayer("block2_conv1"))).isEqualTo("MKLDNNConvHelper");
  }

  @Test
  void shouldGiveTheSameOutputsAndTrainingStepOnTheCnnWithAndWithoutHelpers() {
    MultiLayerNetwork plain = withHelpers(false, () -> Networks.cnn(28, 10, 1e-3, 7));
    MultiLayerNetwork fast = withHelpers(true, () -> Networks.cnn(28, 10, 1e-3, 7));
    assertThat(helperOf(plain.getLayer(0))).isEqualTo("none");
    assertThat(helperOf(fast.getLayer(0))).isEqualTo("MKLDNNConvHelper");
    assertThat(fast.params()).isEqualTo(plain.params());

    DataSet batch = batch(32, 1, 28, 10, 11);
    assertClose(fast.output(batch.getFeatures()), plain.output(batch.getFeatures()), OUTPUT_TOLERANCE);
    plain.fit(batch);
    fast.fit(batch);
    assertThat(maxAbsDiff(fast.params(), plain.params())).isGreaterThan(0).isLessThan(STEP_TOLERANCE)
        .as("a training step moved the weights");
    assertThat(maxAbsDiff(plain.params(), withHelpers(false, () -> Networks.cnn(28, 10, 1e-3, 7)).params())).isGreaterThan(1e-4);
    assertClose(fast.output(batch.getFeatures()), plain.output(batch.getFeatures()), OUTPUT_TOLERANCE);
  }

  @Test
  void shouldGiveTheSameOutputsAndTrainingStepOnAGraphWithBatchNormWithAndWithoutHelpers() {
    ComputationGraph plain = withHelpers(false, () -> ResNets.build(3, 16, new int[] {8, 16}, 16, 4, 1e-3, 5));
    ComputationGraph fast = withHelpers(true, () -> ResNets.build(3, 16, new int[] {8, 16}, 16, 4, 1e-3, 5));
    assertThat(helperOf(plain.getLayer("stem_bn"))).isEqualTo("none");
    assertThat(helperOf(fast.getLayer("stem_bn"))).isEqualTo("MKLDNNBatchNormHelper");

    DataSet batch = batch(16, 3, 16, 4, 13);
    assertClose(fast.outputSingle(batch.getFeatures()), plain.outputSingle(batch.getFeatures()), OUTPUT_TOLERANCE);
    plain.fit(batch);
    fast.fit(batch);
    assertThat(maxAbsDiff(fast.params(), plain.params())).isLessThan(STEP_TOLERANCE);
    assertClose(fast.outputSingle(batch.getFeatures()), plain.outputSingle(batch.getFeatures()), OUTPUT_TOLERANCE);
  }

  private static <T> T withHelpers(boolean on, Supplier<T> build) {
    String before = System.getProperty(Dl4jRuntime.HELPERS_PROPERTY);
    System.setProperty(Dl4jRuntime.HELPERS_PROPERTY, String.valueOf(!on));
    try {
      return build.get();
    } finally {
      if (before == null) {
        System.clearProperty(Dl4jRuntime.HELPERS_PROPERTY);
      } else {
        System.setProperty(Dl4jRuntime.HELPERS_PROPERTY, before);
      }
    }
  }

  private static String helperOf(Layer layer) {
    return layer.getHelper() == null ? "none" : layer.getHelper().getClass().getSimpleName();
  }

  private static DataSet batch(int n, int channels, int side, int labels, long seed) {
    Nd4j.getRandom().setSeed(seed);
    INDArray x = Nd4j.rand(DataType.FLOAT, n, channels, side, side);
    INDArray y = Nd4j.zeros(DataType.FLOAT, n, labels);
    for (int i = 0; i < n; i++) {
      y.putScalar(i, i % labels, 1f);
    }
    return new DataSet(x, y);
  }

  private static double maxAbsDiff(INDArray a, INDArray b) {
    return a.sub(b).amaxNumber().doubleValue();
  }

  private static void assertClose(INDArray actual, INDArray expected, double tolerance) {
    assertThat(actual.shape()).isEqualTo(expected.shape());
    assertThat(maxAbsDiff(actual, expected)).isLessThan(tolerance);
  }
}
