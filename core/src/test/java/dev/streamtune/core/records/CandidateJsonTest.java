package dev.streamtune.core.records;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.Versioned;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CandidateJsonTest {
  private static final TrainingSummary SUMMARY = new TrainingSummary("drift", 3, Map.of("Bag", 3), Map.of("night", 3),
      Instant.EPOCH, Instant.EPOCH, 3, 64, "pool2", List.of("fc", "head"), 1e-3, 0.5, "cpu", 12);

  @Test
  void shouldReadACandidateWrittenBeforeTheFailureFieldExistedAsATrainedOne() {
    String old = "{\"schema\":1,\"model\":\"fashion\",\"version\":2,\"storeUri\":\"file:///store/fashion/2\",\"sha256\":\"ab12\","
        + "\"parentVersion\":1,\"training\":" + new String(Json.toBytes(SUMMARY), StandardCharsets.UTF_8)
        + ",\"timestamp\":\"2026-01-01T00:00:00Z\"}";

    Candidate c = Json.fromBytes(old.getBytes(StandardCharsets.UTF_8), Candidate.class);

    assertThat(c.failure()).isNull();
    assertThat(c.version()).isEqualTo(2);
    assertThat(c.training()).isEqualTo(SUMMARY);
  }

  @Test
  void shouldRoundTripAFailedCandidateWithItsReasonAndNoStoreFiles() {
    Candidate c = Candidate.failed("fashion", 1, SUMMARY, Instant.EPOCH, "nan-loss: loss NaN in epoch 1");

    Candidate back = Json.fromBytes(Json.toBytes(c), Candidate.class);

    assertThat(back).isEqualTo(c);
    assertThat(back.failure()).isEqualTo("nan-loss: loss NaN in epoch 1");
    assertThat(back.version()).isZero();
    assertThat(back.storeUri()).isEmpty();
    assertThat(back.parentVersion()).isEqualTo(1);
  }

  /** The candidate says which alarm it answers and which onset its new domain started at. */
  @Test
  void shouldRoundTripTheDriftSignalItAnswers() {
    DriftSignal d = new DriftSignal(Versioned.CURRENT, "fashion", 1, DriftSignal.Kind.DATA, "confidence-ks", 0.3, 0.2, 900,
        Instant.ofEpochSecond(100), Instant.ofEpochSecond(130), Double.NaN, Double.NaN);
    Candidate c = new Candidate(Versioned.CURRENT, "fashion", 2, "file:///store/fashion/2", "ab12", 1, SUMMARY,
        Instant.ofEpochSecond(200)).answering(d);

    Candidate back = Json.fromBytes(Json.toBytes(c), Candidate.class);

    assertThat(back.signal()).isEqualTo(d);
    assertThat(back.driftAt()).isEqualTo(d.detectedAt());
  }

  @Test
  void shouldRejectATrainedCandidateWithoutStoreFiles() {
    assertThatThrownBy(() -> new Candidate(Versioned.CURRENT, "fashion", 2, "", "", 1, SUMMARY, Instant.EPOCH))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("storeUri");
  }
}
