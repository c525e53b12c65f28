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
}
