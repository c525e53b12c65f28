package dev.streamtune.standalone;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.image.Corruption;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.standalone.demo.Demo;
import dev.streamtune.standalone.demo.DemoOptions;
import dev.streamtune.standalone.demo.DemoSummary;
import dev.streamtune.trainer.Pretrainer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The whole loop on a real embedded broker, real HTTP and real DL4J models: clean traffic, a shift, drift, a fine-tuned
 * candidate, the gate, the hot swap and better answers on the shifted domain. The demo's code path, at a smaller size.
 */
class RetrainingLoopIT {
  @Test
  void shouldDetectTheShiftRetrainPromoteAndServeABetterModel() {
    Path work = Path.of(System.getProperty("streamtune.test.tmp", "target")).resolve("loop-it-work");
    DemoOptions o = new DemoOptions(TestData.dataDir(), work, Corruption.CONTRAST, 1_000, 800, 8_000, 600, 0.8,
        Duration.ofMillis(300), 150, 4, new Pretrainer.Options(8_000, 1, 64, 1e-3, 42),
        Map.of("streamtune.trainer.min-new-samples", "800"), Duration.ofMinutes(8), 11, System.out::println);

    DemoSummary s = Demo.run(o);

    assertThat(s.falseAlarms()).as("drift alarms before the shift").isZero();
    assertThat(s.driftSecondsAfterShift()).as("drift detected after the shift").isNotNull();
    assertThat(s.candidate()).as("a candidate was trained").isNotNull();
    assertThat(s.candidate().layersTrained()).containsExactly("fc", "head");
    assertThat(s.gate().verdict()).isEqualTo("PROMOTE");
    assertThat(s.promotedVersion()).isEqualTo(s.candidate().version()).isGreaterThan(s.baseVersion());
    assertThat(s.servedAfter()).as("answers by the promoted version").isGreaterThan(300);
    assertThat(s.failedRequests()).isZero();
    // accuracy on the shifted domain after the swap beats before by more than chance could give (one-sided z > 3)
    assertThat(s.improvementZ()).isGreaterThan(3.0);
    assertThat(s.accuracyAfter()).isGreaterThan(s.shiftedAccuracyBefore() + 0.05);
    assertThat(s.loopClosed()).as(s.reason()).isTrue();
  }
}
