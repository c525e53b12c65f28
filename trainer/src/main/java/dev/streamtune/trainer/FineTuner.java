package dev.streamtune.trainer;

import dev.streamtune.core.model.Networks;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.transferlearning.FineTuneConfiguration;
import org.deeplearning4j.nn.transferlearning.TransferLearning;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.Adam;

/**
 * Transfer-learning fine-tune: the layers up to and including the freeze boundary keep the champion's weights; the layers above
 * are trained on the given samples. The result is a plain (unfrozen) network of the champion's architecture, so the next
 * fine-tune can choose its own boundary. No I/O; the champion passed in is not modified.
 */
public final class FineTuner {
  /** What a fine-tune produced. */
  public record Result(MultiLayerNetwork network, List<String> layersTrained, double loss, int epochs, long durationMs) {}

  private FineTuner() {}

  /**
   * @param images pixels in [0,1], {@code side*side} each
   * @param labels label indices, one per image
   */
  public static Result fineTune(MultiLayerNetwork champion, String freezeBoundary, double learningRate, int epochs, int batchSize,
      List<float[]> images, int[] labels, int side, long seed) {
    if (images.size() != labels.length || images.isEmpty()) {
      throw new IllegalArgumentException("need as many labels as images and at least one: " + images.size() + " images, "
          + labels.length + " labels");
    }
    long start = System.nanoTime();
    MultiLayerNetwork source = champion.clone();
    FineTuneConfiguration ft = new FineTuneConfiguration.Builder().updater(new Adam(learningRate)).seed(seed).build();
    TransferLearning.Builder builder = new TransferLearning.Builder(source).fineTuneConfiguration(ft);
    List<String> trained = new ArrayList<>();
    int boundary = freezeBoundary.equals("none") ? -1 : Networks.layerIndex(source, freezeBoundary);
    if (boundary >= 0) {
      builder.setFeatureExtractor(boundary);
    }
    MultiLayerNetwork tuned = builder.build();
    for (int i = boundary + 1; i < source.getnLayers(); i++) {
      trained.add(source.getLayer(i).conf().getLayer().getLayerName());
    }
    int classes = (int) source.getLayer(source.getnLayers() - 1).getParam("W").size(1);
    Random rnd = new Random(seed);
    int[] order = new int[labels.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    double lastEpochLoss = Double.NaN;
    for (int e = 0; e < epochs; e++) {
      shuffle(order, rnd);
      double sum = 0;
      int batches = 0;
      for (int from = 0; from < order.length; from += batchSize) {
        int to = Math.min(order.length, from + batchSize);
        tuned.fit(batch(images, labels, order, from, to, side, classes));
        sum += tuned.score();
        batches++;
      }
      lastEpochLoss = sum / batches;
      if (!Double.isFinite(lastEpochLoss)) {
        throw new IllegalStateException("fine-tune diverged: loss " + lastEpochLoss + " in epoch " + (e + 1));
      }
    }
    // copy into a plain network of the same architecture: same parameter layout, no FrozenLayer wrappers
    MultiLayerNetwork plain = new MultiLayerNetwork(champion.getLayerWiseConfigurations().clone());
    plain.init();
    plain.setParams(tuned.params().dup());
    return new Result(plain, trained, lastEpochLoss, epochs, (System.nanoTime() - start) / 1_000_000);
  }

  private static DataSet batch(List<float[]> images, int[] labels, int[] order, int from, int to, int side, int classes) {
    int m = to - from;
    int px = side * side;
    float[] flat = new float[m * px];
    INDArray y = Nd4j.zeros(m, classes);
    for (int i = 0; i < m; i++) {
      int k = order[from + i];
      System.arraycopy(images.get(k), 0, flat, i * px, px);
      y.putScalar(i, labels[k], 1f);
    }
    return new DataSet(Nd4j.create(flat, new long[] {m, 1, side, side}, 'c'), y);
  }

  private static void shuffle(int[] a, Random rnd) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }
}
