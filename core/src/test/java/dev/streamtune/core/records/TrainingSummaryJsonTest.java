package dev.streamtune.core.records;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.json.Json;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class TrainingSummaryJsonTest {
  @Test
  void shouldReadASummaryWrittenBeforeTheFreezeFieldsExisted() {
    String old = "{\"trigger\":\"drift\",\"samples\":3,\"samplesByClass\":{\"Bag\":3},\"samplesByDomain\":{\"night\":3},"
        + "\"dataFrom\":\"2026-01-01T00:00:00Z\",\"dataTo\":\"2026-01-01T00:01:00Z\",\"epochs\":3,\"batchSize\":64,"
        + "\"freezeBoundary\":\"pool2\",\"layersTrained\":[\"fc\",\"head\"],\"learningRate\":0.001,\"loss\":0.5,"
        + "\"device\":\"cpu\",\"durationMs\":12}";

    TrainingSummary s = Json.fromBytes(old.getBytes(StandardCharsets.UTF_8), TrainingSummary.class);

    assertThat(s.freezeBoundary()).isEqualTo("pool2");
    assertThat(s.layerLearningRates()).isNull();
    assertThat(s.freezeReason()).isNull();
    assertThat(s.cachedFeatureHits()).isNull();
    assertThat(s.pseudoLabels()).isNull();
    assertThat(s.interpolation()).isNull();
  }

  @Test
  void shouldRoundTripTheInterpolationTowardTheParent() {
    TrainingSummary s = new TrainingSummary("drift", 503, Map.of("Bag", 3), Map.of("night", 3), Instant.EPOCH, Instant.EPOCH, 3,
        64, "pool2", List.of("fc", "head"), 1e-3, 0.5, "cpu", 12, null, "far domain", 2, 0.5, "mirror", null,
        "α 0.8: agreement 0.986 on 500 new-domain images (at least 0.98; α 0.7: 0.975)");

    TrainingSummary back = Json.fromBytes(Json.toBytes(s), TrainingSummary.class);

    assertThat(back).isEqualTo(s);
    assertThat(back.interpolation()).startsWith("α 0.8");
  }

  @Test
  void shouldRoundTripWhatPseudoLabellingAdded() {
    TrainingSummary s = new TrainingSummary("drift", 503, Map.of("Bag", 3), Map.of("night", 3), Instant.EPOCH, Instant.EPOCH, 3,
        64, "pool2", List.of("fc", "head"), 1e-3, 0.5, "cpu", 12, null, "far domain", 2, 0.5, "mirror",
        "500 pseudo-labels from 2000 unlabelled inputs");

    TrainingSummary back = Json.fromBytes(Json.toBytes(s), TrainingSummary.class);

    assertThat(back).isEqualTo(s);
    assertThat(back.pseudoLabels()).startsWith("500 pseudo-labels");
  }

  @Test
  void shouldRoundTripPerLayerRatesReasonAndCacheHits() {
    TrainingSummary s = new TrainingSummary("drift", 3, Map.of("Bag", 3), Map.of("night", 3), Instant.EPOCH, Instant.EPOCH, 3, 64,
        "pool1", List.of("conv2", "pool2", "fc", "head"), 1e-3, 0.5, "cpu", 12, Map.of("conv2", 1e-4, "fc", 1e-3, "head", 1e-3),
        "far domain", 2);

    TrainingSummary back = Json.fromBytes(Json.toBytes(s), TrainingSummary.class);

    assertThat(back).isEqualTo(s);
    assertThat(back.layerLearningRates()).containsEntry("conv2", 1e-4);
  }
}
