package dev.streamtune.trainer.internal;

import dev.streamtune.core.image.Images;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.trainer.FineTuner;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Ten training images with ids, a CNN, and its pool2 activations computed directly: what the cache tests compare against. */
record CacheFixture(MultiLayerNetwork net, List<float[]> images, List<String> ids, INDArray truth) {
  static CacheFixture make() {
    MultiLayerNetwork net = Networks.cnn(28, 10, 1e-3, 7);
    List<float[]> images = new ArrayList<>();
    List<String> ids = new ArrayList<>();
    for (int i = 0; i < 10; i++) {
      images.add(TestData.train().images()[i]);
      ids.add("sample-" + i);
    }
    return new CacheFixture(net, images, ids, FineTuner.frozenActivations(net, "pool2", Images.batch(images, 28, 28)));
  }
}
