package dev.streamtune.trainer;

import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.testing.TestData;
import java.util.ArrayList;
import java.util.List;

/**
 * A retrain's training set as the trainer builds it: {@code fresh} new-domain samples (Fashion-MNIST training images from index
 * 10,000 on, corrupted) followed by {@code replay} clean earlier ones, with ids and labels.
 */
record RetrainSamples(List<String> ids, List<float[]> images, int[] labels, int fresh) {
  static RetrainSamples of(Corruption shift, int fresh, int replay) {
    FashionMnist.Split train = TestData.train();
    List<String> ids = new ArrayList<>();
    List<float[]> images = new ArrayList<>();
    int[] labels = new int[fresh + replay];
    for (int i = 0; i < fresh + replay; i++) {
      int k = 10_000 + i;
      boolean isNew = i < fresh;
      ids.add((isNew ? "new-" : "old-") + k);
      images.add(isNew ? shift.apply(train.images()[k], 28, i) : train.images()[k]);
      labels[i] = train.labels()[k];
    }
    return new RetrainSamples(ids, images, labels, fresh);
  }

  /** The new-domain images, first in the set. */
  List<float[]> newImages() {
    return images.subList(0, fresh);
  }
}
