package dev.streamtune.standalone.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.image.Corruption;
import dev.streamtune.trainer.Pretrainer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DemoOptionsTest {
  /** Pretraining on 50,000 images leaves 10,000 test + 10,000 training images unseen. */
  private static final Pretrainer.Options PRETRAIN = new Pretrainer.Options(50_000, 1, 64, 1e-3, 42);

  private static DemoOptions options(int guard, int source, int maxShifted, int after) {
    return new DemoOptions(Path.of("data"), Path.of("work"), Corruption.CONTRAST, guard, source, maxShifted, after, 0.8,
        Duration.ofMillis(500), 150, 4, PRETRAIN, Map.of(), Duration.ofMinutes(15), 7, s -> { });
  }

  @Test
  void shouldAcceptTheDefaultsWhoseShiftedPhaseTakesWhatThePoolLeaves() {
    // 4,000 + 1,500 + 1,000 leave 13,500 of the 20,000 unseen images for the shifted phase, fewer than its 20,000 at most
    assertThat(options(4_000, 1_500, 20_000, 1_000).guardSamples()).isEqualTo(4_000);
  }

  @Test
  void shouldRejectSizesThatLeaveTooFewShiftedImagesNamingThePool() {
    assertThatThrownBy(() -> options(14_000, 1_500, 20_000, 1_000)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("21500 images").hasMessageContaining("there are 20000").hasMessageContaining("--guard-samples");
  }
}
