package dev.streamtune.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SettingsTest {
  @Test
  void shouldLayerEnvironmentOverFileDefaultsAndFlagsOverEnvironment() {
    Settings s = Settings.load(null, Map.of("STREAMTUNE_SERVING_PORT", "9000", "PATH", "/bin"),
        Map.of("streamtune.model", "shoes"));
    assertThat(s.integer("streamtune.serving.port", 8080, 0, 65535)).isEqualTo(9000);
    assertThat(CommonConfig.from(s).model()).isEqualTo("shoes");
    assertThat(s.duration("streamtune.x", Duration.ofSeconds(3))).isEqualTo(Duration.ofSeconds(3));
    assertThat(Settings.of(Map.of("k", "250ms")).duration("k", null)).isEqualTo(Duration.ofMillis(250));
  }

  @Test
  void shouldNameTheKeyAndValueOfABadSetting() {
    Settings s = Settings.of(Map.of("streamtune.serving.port", "eighty", "streamtune.bootstrap", "nohost"));
    assertThatThrownBy(() -> s.integer("streamtune.serving.port", 1, 0, 65535)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("streamtune.serving.port='eighty'");
    assertThatThrownBy(() -> CommonConfig.from(s)).isInstanceOf(ConfigException.class)
        .hasMessageContaining("streamtune.bootstrap='nohost'");
    assertThatThrownBy(() -> CommonConfig.from(Settings.of(Map.of("streamtune.holdout.share", "2"))))
        .hasMessageContaining("streamtune.holdout.share='2'").hasMessageContaining("between");
  }
}
