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
 * The whole loop on an RGB {@code ComputationGraph}: the residual backbone pretrained on the colour rendering of the images,
 * served 32×32 RGB PNGs, a new camera's colour cast with blur, drift, a graph fine-tuned above a block boundary, the gate, the
 * swap and better answers. The demo's code path with {@code --backbone resnet}, at a smaller size.
 */
class RgbGraphLoopIT {
  @Test
  void shouldCloseTheLoopOnAnRgbResidualGraph() {
    Path work = Path.of(System.getProperty("streamtune.test.tmp", "target")).resolve("rgb-loop-it-work");
    DemoOptions o = new DemoOptions(TestData.dataDir(), work, Corruption.CAST_BLUR, 2_500, 800, 12_000, 600, 0.8,
        Duration.ofMillis(300), 150, 4, new Pretrainer.Options(8_000, 1, 64, 2e-3, 42, Pretrainer.Arch.RESNET),
        // a rejected first candidate is retried on more samples (5 s cool-down here); the shifted stream lasts long enough
        Map.of("streamtune.trainer.min-new-samples", "800", "streamtune.trainer.cooldown", "5s"), Duration.ofMinutes(8), 11,
        System.out::println, false);

    DemoSummary s = Demo.run(o);

    assertThat(s.driftSecondsAfterShift()).as("drift detected after the shift").isNotNull();
    assertThat(s.candidate()).as("a candidate was trained").isNotNull();
    assertThat(s.candidate().layersTrained()).contains("head").doesNotContain("stem_conv", "block1_conv1");
    assertThat(s.gate().verdict()).as("the gate's last verdict: %s", s.gate()).isEqualTo("PROMOTE");
    assertThat(s.promotedVersion()).isEqualTo(s.candidate().version()).isGreaterThan(s.baseVersion());
    assertThat(s.failedRequests()).isZero();
    assertThat(s.improvementZ()).isGreaterThan(3.0);
    assertThat(s.accuracyAfter()).isGreaterThan(s.shiftedAccuracyBefore() + 0.05);
    assertThat(s.loopClosed()).as(s.reason()).isTrue();
  }
}
