package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.image.Images;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.testing.TestData;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

class FineTunerDivergenceTest {
  private static final MultiLayerNetwork NET = Networks.cnn(28, 10, 1e-3, 7);

  private static List<float[]> images(int n) {
    List<float[]> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      out.add(TestData.train().images()[i]);
    }
    return out;
  }

  private static int[] labels(int n) {
    return Arrays.copyOf(TestData.train().labels(), n);
  }

  @Test
  void shouldStopWithADivergedErrorWhenAFeatureIsNaN() {
    INDArray features = FineTuner.frozenActivations(NET, "pool2", Images.batch(images(128), 28, 28));
    features.putScalar(5, 17, Float.NaN);

    assertThatThrownBy(() -> FineTuner.fineTuneFromFeatures(NET, FreezePlan.uniform("pool2", 1e-3, "test"), 2, 64, features,
        labels(128), 28, 1)).isInstanceOf(TrainingDivergedException.class).hasMessageContaining("NaN");
  }

  @Test
  void shouldStopWithADivergedErrorAtAnAbsurdLearningRate() {
    assertThatThrownBy(() -> FineTuner.fineTune(NET, "pool2", 1e30, 3, 32, images(256), labels(256), 28, 1))
        .isInstanceOf(TrainingDivergedException.class).hasMessageContaining("diverged");
  }
}
