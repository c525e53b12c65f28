package dev.streamtune.core.records;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.Versioned;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class DecisionJsonTest {
  @Test
  void shouldReadADecisionWrittenBeforeTheTestFieldsExistedWithoutThem() {
    String old = "{\"schema\":1,\"model\":\"fashion\",\"verdict\":\"PROMOTE\",\"candidate\":{\"version\":2,\"recentAccuracy\":0.8,"
        + "\"guardAccuracy\":0.86},\"champion\":{\"version\":1,\"recentAccuracy\":0.5,\"guardAccuracy\":0.86},"
        + "\"recentSamples\":300,\"guardSamples\":500,\"rule\":\"r\",\"reason\":\"gain\",\"timestamp\":\"2026-01-01T00:00:00Z\"}";

    Decision d = Json.fromBytes(old.getBytes(StandardCharsets.UTF_8), Decision.class);

    assertThat(d.verdict()).isEqualTo(Decision.Verdict.PROMOTE);
    assertThat(d.mcnemarP()).isNull();
    assertThat(d.onlyCandidateRight()).isNull();
  }

  @Test
  void shouldRoundTripTheTestStatisticAndTheDiscordantCounts() {
    Decision d = new Decision(Versioned.CURRENT, "fashion", Decision.Verdict.REJECT, new ModelScore(2, 0.6, 0.8),
        new ModelScore(1, 0.58, 0.85), 200, 400, "rule", "forgets", Instant.EPOCH, 0.21, 30, 26);

    Decision back = Json.fromBytes(Json.toBytes(d), Decision.class);

    assertThat(back).isEqualTo(d);
    assertThat(back.mcnemarP()).isEqualTo(0.21);
    assertThat(back.onlyCandidateRight()).isEqualTo(30);
    assertThat(back.onlyChampionRight()).isEqualTo(26);
  }

  /** A verdict on a candidate that answers a drift carries the drift's time; old records read without it. */
  @Test
  void shouldCarryTheDriftTimeOfTheCandidateAndTheTimeToAdapt() {
    Decision d = new Decision(Versioned.CURRENT, "fashion", Decision.Verdict.PROMOTE, new ModelScore(2, 0.8, 0.85),
        new ModelScore(1, 0.5, 0.85), 200, 400, "rule", "gain", Instant.ofEpochSecond(1_000), 0.001, 60, 2)
        .answering(Instant.ofEpochSecond(910));

    Decision back = Json.fromBytes(Json.toBytes(d), Decision.class);

    assertThat(back).isEqualTo(d);
    assertThat(back.driftAt()).isEqualTo(Instant.ofEpochSecond(910));
    assertThat(back.adaptSeconds()).isEqualTo(90.0);
    Promotion p = Json.fromBytes(Json.toBytes(new Promotion(Versioned.CURRENT, "fashion", 2, "file:/s/fashion/2", "ab", "gate",
        Instant.ofEpochSecond(1_001), Instant.ofEpochSecond(910))), Promotion.class);
    assertThat(p.driftAt()).isEqualTo(Instant.ofEpochSecond(910));
    Promotion manual = Json.fromBytes(("{\"schema\":1,\"model\":\"fashion\",\"version\":3,\"storeUri\":\"u\","
        + "\"sha256\":\"ab\",\"reason\":\"manual\",\"timestamp\":\"2026-01-01T00:00:00Z\"}")
        .getBytes(StandardCharsets.UTF_8), Promotion.class);
    assertThat(manual.driftAt()).as("a promotion written before the field").isNull();
  }
}
