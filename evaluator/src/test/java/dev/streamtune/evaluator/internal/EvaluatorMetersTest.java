package dev.streamtune.evaluator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.config.Settings;
import dev.streamtune.evaluator.EvaluatorConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EvaluatorMetersTest {
  /** Every detector the configuration runs and every verdict has its counter at 0 from the moment a version is seen served. */
  @Test
  void shouldRegisterEveryLoopEventCounterAtZeroFromTheStart() {
    EvaluatorConfig cfg = EvaluatorConfig.from(Settings.of(Map.of("streamtune.model", "shop",
        "streamtune.evaluator.drift.detectors", "page-hinkley,adwin")));
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    EvaluatorMeters meters = new EvaluatorMeters(cfg);
    meters.bindTo(registry);
    assertThat(registry.find(EvaluatorMeters.DRIFT_SIGNALS).counters()).as("no version is known yet").isEmpty();
    LiveAccuracy live = new LiveAccuracy(registry, (model, version) -> meters.bindVersion(registry, model, version));
    live.test("shop", 3, "confidence-ks", new double[] {0.01, 0.2, 0.9, 200}); // v3's first prediction

    assertThat(EvaluatorMeters.detectors(cfg)).contains("page-hinkley", "adwin").doesNotContain("ddm");
    for (String d : EvaluatorMeters.detectors(cfg)) {
      assertThat(registry.get(EvaluatorMeters.DRIFT_SIGNALS).tags("model", "shop", "version", "3", "detector", d).counter()
          .count()).isZero();
    }
    for (String v : new String[] {"promote", "reject", "not_enough_data"}) {
      assertThat(registry.get(EvaluatorMeters.GATE_DECISIONS).tags("model", "shop", "version", "3", "verdict", v).counter()
          .count()).isZero();
    }
    assertThat(registry.get(EvaluatorMeters.GATE_FAILED_CANDIDATES).tags("model", "shop", "version", "3").counter().count())
        .isZero();
    assertThat(registry.find(EvaluatorMeters.FEEDBACK_IGNORED).counters()).extracting(c -> c.getId().getTag("reason"))
        .containsExactlyInAnyOrder("repeat", "relabelled", EvaluatorMeters.NO_PREDICTION);
  }
}
