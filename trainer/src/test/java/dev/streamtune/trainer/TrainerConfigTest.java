package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TrainerConfigTest {
  @Test
  void shouldLetTheFreezePolicyChooseByDefault() {
    TrainerConfig c = TrainerConfig.from(Settings.empty());

    assertThat(c.freezeBoundary()).isEqualTo("auto");
    assertThat(c.freezePolicy().pinned()).isNull();
    assertThat(c.lowerRateFactor()).isEqualTo(0.1);
  }

  @Test
  void shouldKeepAPinnedBoundaryAndRateFactor() {
    TrainerConfig c = TrainerConfig.from(Settings.of(Map.of("streamtune.trainer.freeze-boundary", "pool1",
        "streamtune.trainer.lower-rate-factor", "0.01")));

    FreezePlan p = c.freezePolicy().choose(10, 0.9, 0.9);

    assertThat(p.boundary()).isEqualTo("pool1");
    assertThat(p.lowerRateFactor()).isEqualTo(0.01);
  }

  @Test
  void shouldRejectAnUnknownBoundaryNamingTheKey() {
    assertThatThrownBy(() -> TrainerConfig.from(Settings.of(Map.of("streamtune.trainer.freeze-boundary", "conv9"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.trainer.freeze-boundary");
  }

  @Test
  void shouldRejectALargeDataThresholdBelowTheSmallOne() {
    assertThatThrownBy(() -> TrainerConfig.from(Settings.of(Map.of("streamtune.trainer.freeze.small-data", "3000",
        "streamtune.trainer.freeze.large-data", "1000"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.trainer.freeze.large-data");
  }
}
