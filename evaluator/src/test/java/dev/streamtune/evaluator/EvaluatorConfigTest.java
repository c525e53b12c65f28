package dev.streamtune.evaluator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.learn.Adwin;
import dev.streamtune.core.learn.Ddm;
import dev.streamtune.core.learn.PageHinkley;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EvaluatorConfigTest {
  @Test
  void shouldUsePageHinkleyAloneAndTheConfidenceCheckByDefault() {
    EvaluatorConfig cfg = EvaluatorConfig.from(Settings.empty());
    assertThat(cfg.drift().names()).containsExactly(PageHinkley.NAME);
    assertThat(cfg.drift().ddm()).isEqualTo(Ddm.defaults());
    assertThat(cfg.drift().adwin()).isEqualTo(Adwin.defaults());
    assertThat(cfg.confidence()).isEqualTo(new ConfidenceDrift(true, 500, 200, 50, 5e-5));
  }

  @Test
  void shouldReadTheDetectorListAndTheirParameters() {
    EvaluatorConfig cfg = EvaluatorConfig.from(Settings.of(Map.of("streamtune.evaluator.drift.detectors", " ADWIN, ddm,page-hinkley",
        "streamtune.evaluator.ddm.warning-level", "2", "streamtune.evaluator.ddm.drift-level", "3",
        "streamtune.evaluator.ddm.min-samples", "30", "streamtune.evaluator.adwin.delta", "0.01",
        "streamtune.evaluator.adwin.max-window", "1000", "streamtune.evaluator.adwin.min-sub-window", "20",
        "streamtune.evaluator.confidence.enabled", "false", "streamtune.evaluator.confidence.alpha", "0.01")));
    assertThat(cfg.drift().names()).containsExactly(Adwin.NAME, Ddm.NAME, PageHinkley.NAME);
    assertThat(cfg.drift().ddm()).isEqualTo(new Ddm(2, 3, 30));
    assertThat(cfg.drift().adwin()).isEqualTo(new Adwin(0.01, 1000, 20));
    assertThat(cfg.confidence().enabled()).isFalse();
    assertThat(cfg.confidence().alpha()).isEqualTo(0.01);
  }

  @Test
  void shouldRejectAnUnknownOrRepeatedDetectorNamingKeyAndValue() {
    for (String bad : List.of("page-hinkley,cusum", "ddm,ddm", "ddm,")) {
      assertThatThrownBy(() -> EvaluatorConfig.from(Settings.of(Map.of("streamtune.evaluator.drift.detectors", bad))))
          .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.evaluator.drift.detectors")
          .hasMessageContaining(bad);
    }
  }

  @Test
  void shouldRejectInconsistentDetectorParameters() {
    assertThatThrownBy(() -> EvaluatorConfig.from(Settings.of(Map.of("streamtune.evaluator.ddm.warning-level", "5"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.evaluator.ddm.drift-level");
    assertThatThrownBy(() -> EvaluatorConfig.from(Settings.of(Map.of("streamtune.evaluator.adwin.max-window", "40"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.evaluator.adwin.max-window");
    assertThatThrownBy(() -> EvaluatorConfig.from(Settings.of(Map.of("streamtune.evaluator.confidence.alpha", "2"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.evaluator.confidence.alpha");
  }
}
