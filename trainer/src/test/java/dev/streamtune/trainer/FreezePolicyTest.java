package dev.streamtune.trainer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class FreezePolicyTest {
  private final FreezePolicy policy = new FreezePolicy(2000, 5000, 0.85, 0.5, 1e-3, 0.1, null);

  @Test
  void shouldTrainTheHeadOnlyOnLittleDataFromASimilarDomain() {
    FreezePlan p = policy.choose(1000, 0.88, 0.80);

    assertThat(p.boundary()).isEqualTo("fc");
    assertThat(p.reason()).contains("little data", "similar domain", "retained 0.91");
  }

  @Test
  void shouldAlsoTrainFcWhenTheDomainIsLessSimilar() {
    // night: 88.4 % -> 56.3 % (DL4J-NOTES), retained 0.64
    assertThat(policy.choose(1000, 0.884, 0.563).boundary()).isEqualTo("pool2");
  }

  @Test
  void shouldAlsoTrainFcWhenThereIsMoreDataFromASimilarDomain() {
    assertThat(policy.choose(3000, 0.88, 0.85).boundary()).isEqualTo("pool2");
  }

  @Test
  void shouldUnfreezeConv2ForAFarDomainEvenOnLittleData() {
    // invert: 88.4 % -> 18.8 %, retained 0.21
    FreezePlan p = policy.choose(1000, 0.884, 0.188);

    assertThat(p.boundary()).isEqualTo("pool1");
    assertThat(p.lowerRateFactor()).isEqualTo(0.1);
    assertThat(p.headRate()).isEqualTo(1e-3);
    assertThat(p.reason()).contains("far domain");
  }

  @Test
  void shouldUnfreezeConv2OnMuchDataEvenFromASimilarDomain() {
    assertThat(policy.choose(5000, 0.88, 0.87).boundary()).isEqualTo("pool1");
  }

  @Test
  void shouldTakeTheMiddleWayWhenTheAccuraciesAreUnknown() {
    FreezePlan p = policy.choose(500, Double.NaN, 0.4);

    assertThat(p.boundary()).isEqualTo("pool2");
    assertThat(p.reason()).contains("unknown domain");
  }

  @Test
  void shouldKeepAPinnedBoundaryWhateverTheData() {
    FreezePolicy pinned = new FreezePolicy(2000, 5000, 0.85, 0.5, 1e-3, 0.1, "conv1");

    FreezePlan p = pinned.choose(100_000, 0.9, 0.0);

    assertThat(p.boundary()).isEqualTo("conv1");
    assertThat(p.reason()).contains("pinned");
  }

  @Test
  void shouldRejectThresholdsInTheWrongOrder() {
    assertThatThrownBy(() -> new FreezePolicy(5000, 2000, 0.85, 0.5, 1e-3, 0.1, null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("smallData");
    assertThatThrownBy(() -> new FreezePolicy(2000, 5000, 0.4, 0.5, 1e-3, 0.1, null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("farRetained");
    assertThatThrownBy(() -> new FreezePolicy(2000, 5000, 0.85, 0.5, 1e-3, 0, null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("lowerRateFactor");
  }
}
