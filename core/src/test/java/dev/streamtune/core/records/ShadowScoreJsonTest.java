package dev.streamtune.core.records;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.Topics;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class ShadowScoreJsonTest {
  private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void shouldRoundTripAWindowWithItsSchemaAndAgreement() {
    ShadowScore s = new ShadowScore(Versioned.CURRENT, "fashion", 3, 4, "serving-a", 40, 30, 0.81, 0.77, T0, T0.plusSeconds(5));

    byte[] json = Json.toBytes(s);
    ShadowScore back = Json.fromBytes(json, ShadowScore.class);

    assertThat(back).isEqualTo(s);
    assertThat(back.agreement()).isEqualTo(0.75);
    assertThat(new String(json, StandardCharsets.UTF_8)).contains("\"schema\":1", "\"championVersion\":3", "\"shadowVersion\":4",
        "\"windowStart\":\"2026-01-01T00:00:00Z\"");
  }

  @Test
  void shouldRejectAnUnknownMajorSchemaAsAnUnreadableRecord() {
    String v2 = "{\"schema\":2,\"model\":\"fashion\",\"championVersion\":1,\"shadowVersion\":2,\"node\":\"n\",\"inputs\":1,"
        + "\"agreed\":1,\"championMeanConfidence\":0.5,\"shadowMeanConfidence\":0.5,\"windowStart\":\"2026-01-01T00:00:00Z\","
        + "\"windowEnd\":\"2026-01-01T00:00:01Z\"}";

    assertThatThrownBy(() -> Json.fromBytes(v2.getBytes(StandardCharsets.UTF_8), ShadowScore.class))
        .isInstanceOf(RecordFormatException.class).hasMessageContaining("schema version 2");
  }

  @Test
  void shouldRejectMoreAgreedThanScoredAConfidenceOutsideZeroOneAndAWindowThatEndsBeforeItStarts() {
    assertThatThrownBy(() -> new ShadowScore(1, "fashion", 1, 2, "n", 3, 4, 0.5, 0.5, T0, T0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("agreed 4");
    assertThatThrownBy(() -> new ShadowScore(1, "fashion", 1, 2, "n", 3, 1, 1.5, 0.5, T0, T0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("1.5");
    assertThatThrownBy(() -> new ShadowScore(1, "fashion", 1, 2, "n", 3, 1, 0.5, Double.NaN, T0, T0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("NaN");
    assertThatThrownBy(() -> new ShadowScore(1, "fashion", 1, 2, "n", 3, 1, 0.5, 0.5, T0, T0.minusSeconds(1)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("before windowStart");
    assertThatThrownBy(() -> new ShadowScore(1, "fashion", 2, 2, "n", 3, 1, 0.5, 0.5, T0, T0))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("two different versions");
  }

  @Test
  void shouldNameTheShadowTopicUnderThePrefixAndCreateItWithTheOthers() {
    Topics topics = new Topics("x.");

    assertThat(topics.shadow.name()).isEqualTo("x.shadow");
    assertThat(topics.shadow.compacted()).isFalse();
    assertThat(topics.all()).contains(topics.shadow);
  }
}
