package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.core.testing.TestModels;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Distillation toward the parent on replayed samples, through the trainer's {@link Retrainer}: a real CNN fine-tuned on
 * inverted images plus replayed clean ones keeps more of its answers on unseen clean images with distillation than without,
 * and still learns the new domain.
 */
class DistillationTest {
  @Test
  void shouldKeepMoreOfTheParentsAnswersOnUnseenEarlierImagesAndStillLearnTheNewDomain() {
    Network parent = Network.of(TestModels.trainedCnn(3_000, 42));
    int fresh = 600;
    RetrainSamples set = RetrainSamples.of(Corruption.INVERT, fresh, 1_200);
    List<String> ids = set.ids();
    List<float[]> images = set.images();
    int[] labels = set.labels();
    FashionMnist.Split test = TestData.test();
    List<float[]> clean = new ArrayList<>();
    List<float[]> inverted = new ArrayList<>();
    int[] testLabels = new int[1_000];
    for (int i = 0; i < 1_000; i++) {
      clean.add(test.images()[i]);
      inverted.add(Corruption.INVERT.apply(test.images()[i], 28, i));
      testLabels[i] = test.labels()[i];
    }
    ModelSpec spec = Networks.spec(28, FashionMnist.LABELS, "pool2");
    Preprocessor pre = Preprocessor.of(spec);
    int[] parentClean = Networks.argMax(parent.output(pre.batch(clean)));
    FreezePlan plan = new FreezePlan("pool2", 1e-3, 0.1, "test");

    double[] agreement = new double[2];
    double[] newAccuracy = new double[2];
    double[] weights = {0, 0.6};
    for (int w = 0; w < 2; w++) {
      Retrainer r = new Retrainer(TestData.tempDir("distill-cache"), 64L << 20, 64L << 20, 3, 64, 7, weights[w]);
      Network tuned = r.retrain(parent, "parent-pool2", parent, spec, plan, ids, images, labels, fresh, (u, ms) -> { }).model();
      int[] p = Networks.argMax(tuned.output(pre.batch(clean)));
      int same = 0;
      for (int i = 0; i < p.length; i++) {
        same += p[i] == parentClean[i] ? 1 : 0;
      }
      agreement[w] = same / (double) p.length;
      newAccuracy[w] = Networks.accuracy(tuned, pre, inverted, testLabels);
    }
    double before = Networks.accuracy(parent, pre, inverted, testLabels);
    System.out.printf("distillation: agreement with the parent on clean %.3f -> %.3f, inverted accuracy %.3f -> %.3f / %.3f%n",
        agreement[0], agreement[1], before, newAccuracy[0], newAccuracy[1]);

    assertThat(agreement[1]).as("agreement with the parent on unseen clean images: plain %.3f, distilled %.3f", agreement[0],
        agreement[1]).isGreaterThan(agreement[0]);
    assertThat(newAccuracy[1]).as("inverted images: parent %.3f, plain %.3f, distilled %.3f", before, newAccuracy[0],
        newAccuracy[1]).isGreaterThan(before + 0.15);
  }
}
