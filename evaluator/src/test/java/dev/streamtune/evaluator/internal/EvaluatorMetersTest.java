package dev.streamtune.evaluator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.config.Settings;
import dev.streamtune.evaluator.EvaluatorConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EvaluatorMetersTest {
  /** Every detector the configuration runs and every verdict has its counter at 0 before the first event. */
  @Test
  void shouldRegisterEveryLoopEventCounterAtZeroFromTheStart() {
    EvaluatorConfig cfg = EvaluatorConfig.from(Settings.of(Map.of("streamtune.model", "shop",
        "streamtune.evaluator.drift.detectors", "page-hinkley,adwin")));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    new EvaluatorMeters(cfg).bindTo(registry);

    assertThat(EvaluatorMeters.detectors(cfg)).contains("page-hinkley", "adwin").doesNotContain("ddm");
    for (String d : EvaluatorMeters.detectors(cfg)) {
      assertThat(registry.get(EvaluatorMeters.DRIFT_SIGNALS).tag("model", "shop").tag("detector", d).counter().count()).isZero();
    }
    for (String v : new String[] {"promote", "reject"}) {
      assertThat(registry.get(EvaluatorMeters.GATE_DECISIONS).tag("model", "shop").tag("verdict", v).counter().count()).isZero();
    }
    assertThat(registry.get(EvaluatorMeters.GATE_FAILED_CANDIDATES).tag("model", "shop").counter().count()).isZero();
  }
}
