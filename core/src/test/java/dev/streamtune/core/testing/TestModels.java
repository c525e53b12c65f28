package dev.streamtune.core.testing;

import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.records.TrainingSummary;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/** Small real models for tests: the StreamTune CNN trained briefly on real Fashion-MNIST images. */
public final class TestModels {
  private TestModels() {}

  /** Trains the CNN on the first {@code n} training images for one epoch (a few seconds for 2,000). */
  public static MultiLayerNetwork trainedCnn(int n, long seed) {
    FashionMnist.Split train = TestData.train();
    MultiLayerNetwork net = Networks.cnn(FashionMnist.SIDE, FashionMnist.LABELS.size(), 1e-3, seed);
    int batch = 64;
    for (int from = 0; from < n; from += batch) {
      int to = Math.min(n, from + batch);
      net.fit(dataSet(train, from, to));
    }
    return net;
  }

  /** Images {@code [from, to)} of a split as a DataSet with one-hot labels. */
  public static DataSet dataSet(FashionMnist.Split split, int from, int to) {
    int m = to - from;
    float[] px = new float[m * 784];
    INDArray labels = Nd4j.zeros(m, FashionMnist.LABELS.size());
    for (int i = 0; i < m; i++) {
      System.arraycopy(split.images()[from + i], 0, px, i * 784, 784);
      labels.putScalar(i, split.labels()[from + i], 1f);
    }
    return new DataSet(Nd4j.create(px, new long[] {m, 1, 28, 28}, 'c'), labels);
  }

  /** Saves a small trained CNN as the base version of {@code model} in a store. */
  public static Manifest storeBase(DirectoryModelStore store, String model, int trainImages) {
    MultiLayerNetwork net = trainedCnn(trainImages, 42);
    TrainingSummary summary = new TrainingSummary("test", trainImages, Map.of(), Map.of("clean", trainImages), Instant.EPOCH,
        Instant.EPOCH, 1, 64, "none", Networks.LAYERS, 1e-3, net.score(), Networks.device(), 0);
    return store.save(model, net, Networks.spec(FashionMnist.SIDE, FashionMnist.LABELS, Networks.DEFAULT_FREEZE_BOUNDARY), null,
        summary, Map.of());
  }

  /** Accuracy of a network on images {@code [from, to)} of a split. */
  public static double accuracy(MultiLayerNetwork net, FashionMnist.Split split, int from, int to) {
    DataSet ds = dataSet(split, from, to);
    int[] pred = Networks.argMax(net.output(ds.getFeatures()));
    int ok = 0;
    for (int i = 0; i < pred.length; i++) {
      if (pred[i] == split.labels()[from + i]) {
        ok++;
      }
    }
    return ok / (double) pred.length;
  }
}
