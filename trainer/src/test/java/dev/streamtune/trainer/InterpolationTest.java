package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.config.ConfigException;
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
 * Interpolation toward the parent through the trainer's {@link Retrainer}: a real CNN fine-tuned on blurred images plus replayed
 * clean ones, once as it is and once moved back toward the parent. The interpolated model keeps the share of the tuned model's
 * new-domain answers it promises, and more of the parent's answers on unseen clean images.
 */
class InterpolationTest {
  private static final Network PARENT = Network.of(TestModels.trainedCnn(3_000, 42));

  @Test
  void shouldMoveBackTowardTheParentOnlyAsFarAsTheNewDomainsAnswersAllow() {
    Network parent = PARENT.copy();
    org.nd4j.linalg.api.ndarray.INDArray before = parent.params().dup();
    int fresh = 600;
    RetrainSamples set = RetrainSamples.of(Corruption.BLUR, fresh, 1_200);
    List<String> ids = set.ids();
    List<float[]> images = set.images();
    int[] labels = set.labels();
    FashionMnist.Split test = TestData.test();
    List<float[]> clean = new ArrayList<>();
    for (int i = 0; i < 1_000; i++) {
      clean.add(test.images()[i]);
    }
    ModelSpec spec = Networks.spec(28, FashionMnist.LABELS, "pool2");
    Preprocessor pre = Preprocessor.of(spec);
    FreezePlan plan = new FreezePlan("pool2", 1e-3, 0.1, "test");
    Retrainer plain = new Retrainer(TestData.tempDir("interpolation-cache"), 64L << 20, 64L << 20, 3, 64, 7, 0);
    Retrainer back = plain.with(Interpolation.keeping(0.9));

    FineTuner.Result tuned = plain.retrain(parent, "parent-pool2", parent, spec, plan, ids, images, labels, fresh, (u, ms) -> { });
    FineTuner.Result moved = back.retrain(parent, "parent-pool2", parent, spec, plan, ids, images, labels, fresh, (u, ms) -> { });

    assertThat(tuned.interpolation()).isNull();
    assertThat(moved.interpolation()).as("the choice is recorded").startsWith("α 0.").contains("on 600 new-domain images");
    List<float[]> newImages = set.newImages();
    double kept = agreement(tuned.model(), moved.model(), pre, newImages);
    assertThat(kept).as("new-domain answers kept: %s", moved.interpolation()).isGreaterThanOrEqualTo(0.9).isLessThan(1.0);
    double plainClean = agreement(parent, tuned.model(), pre, clean);
    double movedClean = agreement(parent, moved.model(), pre, clean);
    System.out.printf("interpolation: %s; the parent's answers on unseen clean images kept %.3f -> %.3f%n", moved.interpolation(),
        plainClean, movedClean);
    assertThat(movedClean).as("the parent's answers kept on unseen clean images: tuned %.3f, interpolated %.3f", plainClean,
        movedClean).isGreaterThan(plainClean);
    assertThat(parent.params()).as("the parent is left as it was").isEqualTo(before);
  }

  @Test
  void shouldKeepTheTunedModelWhenItsArchitectureIsNotTheParents() {
    Network parent = PARENT;
    Network grown = HeadGrowth.grow(parent, 11, 3);
    List<float[]> images = List.of(TestData.test().images()[0], TestData.test().images()[1]);

    Interpolation.Choice c = Interpolation.keeping(0.5).apply(parent, grown, Preprocessor.of(Networks.spec(28,
        FashionMnist.LABELS, "pool2")), images);

    assertThat(c.model()).isSameAs(grown);
    assertThat(c.alpha()).isEqualTo(1.0);
    assertThat(Interpolation.OFF.apply(parent, parent.copy(), Preprocessor.of(Networks.spec(28, FashionMnist.LABELS, "pool2")),
        images).alpha()).isEqualTo(1.0);
  }

  @Test
  void shouldNameTheKeyOfABadSetting() {
    assertThat(Interpolation.parse("off").off()).isTrue();
    assertThat(Interpolation.parse(" 0.98 ").minAgreement()).isEqualTo(0.98);
    for (String bad : new String[] {"1", "0.3", "yes", ""}) {
      assertThatThrownBy(() -> Interpolation.parse(bad)).as(bad).isInstanceOf(ConfigException.class)
          .hasMessageContaining(Interpolation.KEY);
    }
  }

  private static double agreement(Network a, Network b, Preprocessor pre, List<float[]> images) {
    int[] x = Networks.argMax(a.output(pre.batch(images)));
    int[] y = Networks.argMax(b.output(pre.batch(images)));
    int same = 0;
    for (int i = 0; i < x.length; i++) {
      same += x[i] == y[i] ? 1 : 0;
    }
    return same / (double) x.length;
  }
}
