package dev.streamtune.standalone.demo;

import dev.streamtune.core.image.FashionMnist;

/** Fashion-MNIST images the pretrained base never saw, handed out once each: the test split, then train[pretrained..60000). */
final class ImagePool {
  record Image(String key, float[] pixels, String label) {}

  private final FashionMnist.Split train;
  private final FashionMnist.Split test;
  private final int firstUnseenTrain;
  private int next;

  ImagePool(FashionMnist.Split train, FashionMnist.Split test, int firstUnseenTrain) {
    this.train = train;
    this.test = test;
    this.firstUnseenTrain = firstUnseenTrain;
  }

  /** Images not handed out yet. */
  synchronized int remaining() {
    return Math.max(0, test.size() + train.size() - firstUnseenTrain - next);
  }

  synchronized Image next() {
    int i = next++;
    if (i < test.size()) {
      return new Image("test-" + i, test.images()[i], FashionMnist.LABELS.get(test.labels()[i]));
    }
    int j = firstUnseenTrain + (i - test.size());
    if (j >= train.size()) {
      throw new IllegalStateException("the demo ran out of unseen images after " + i);
    }
    return new Image("train-" + j, train.images()[j], FashionMnist.LABELS.get(train.labels()[j]));
  }
}
