package dev.streamtune.evaluator.internal;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class AccuracyEstimateTest {
  @Test
  void shouldStopTrustingTheChampionsEstimateAfterADriftOnItUntilTheNextChampion() {
    AccuracyEstimate e = new AccuracyEstimate();
    e.reset(3);
    assertThat(e.trusted(3)).isEqualTo(1.0);
    assertThat(e.trusted(2)).as("not the champion").isNaN();

    assertThat(e.onDrift(2)).as("a drift on an earlier version").isFalse();
    assertThat(e.trusted(3)).isEqualTo(1.0);
    assertThat(e.onDrift(3)).isTrue();
    assertThat(e.onDrift(3)).as("already not trusted").isFalse();
    assertThat(e.trusted(3)).isZero();

    e.reset(4);
    assertThat(e.trusted(4)).as("a new champion, calibrated anew").isEqualTo(1.0);
    assertThat(e.trusted(3)).isNaN();
  }
}
