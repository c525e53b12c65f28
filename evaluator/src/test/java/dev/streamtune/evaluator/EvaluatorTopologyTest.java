package dev.streamtune.evaluator;

import dev.streamtune.core.image.FashionMnist;
import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.config.Settings;
import dev.streamtune.core.kafka.StreamsErrorHandlers;
import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.records.LabelProbability;
import dev.streamtune.core.records.Prediction;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.evaluator.internal.ConfidenceMonitor;
import dev.streamtune.evaluator.internal.EvaluatorMeters;
import dev.streamtune.evaluator.internal.LiveAccuracy;
import dev.streamtune.evaluator.internal.ModelMonitor;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.SplittableRandom;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.Test;

class EvaluatorTopologyTest {
  private final Topics topics = Topics.withDefaultPrefix();
  private final EvaluatorConfig cfg = EvaluatorConfig.from(Settings.of(Map.of("streamtune.evaluator.ph.lambda", "20")));
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final LiveAccuracy live = new LiveAccuracy(registry);

  private TopologyTestDriver driver() {
    Properties p = EvaluatorService.streamsProperties(cfg, TestData.tempDir("streams"), registry);
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, "evaluator-test");
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
    return new TopologyTestDriver(EvaluatorTopology.build(cfg, registry, live, (model, version) -> FashionMnist.LABELS), p);
  }

  @Test
  void shouldJoinPredictionsWithFeedbackAndSignalDriftWhenAnswersTurnWrong() {
    try (TopologyTestDriver d = driver()) {
      TestInputTopic<String, Prediction> predictions = predictions(d);
      TestInputTopic<String, Feedback> feedback = feedback(d);
      TestOutputTopic<String, DriftSignal> drift = d.createOutputTopic(topics.drift.name(), Serdes.String().deserializer(),
          topics.drift.valueSerde().deserializer());
      Instant t = Instant.parse("2026-01-01T00:00:00Z");
      for (int i = 0; i < 400; i++) {
        boolean shifted = i >= 200;
        String truth = shifted ? "Coat" : "Bag"; // after the shift the model keeps answering Bag and is wrong
        Instant at = t.plusSeconds(i);
        answerBagAndLabel(predictions, feedback, "p" + i, truth, at);
        if (i == 199) {
          assertThat(drift.isEmpty()).isTrue();
          assertThat(live.get("fashion", 1)).isEqualTo(1.0);
        }
      }
      List<DriftSignal> signals = drift.readValuesToList();
      assertThat(signals).isNotEmpty();
      assertThat(signals.get(0).model()).isEqualTo("fashion");
      assertThat(signals.get(0).detectedAt()).isAfter(t.plusSeconds(200));
      assertThat(live.get("fashion", 1)).isLessThan(0.5);
      assertThat(registry.counter("streamtune.evaluator.outcomes", "model", "fashion", "version", "1", "correct", "true").count())
          .isEqualTo(200);
    }
  }

  @Test
  void shouldJudgeFeedbackByIngestsRuleIndexLabelsAreNamesAndAnotherPredictionsKeyIsLeftToIngest() {
    try (TopologyTestDriver d = driver()) {
      TestInputTopic<String, Prediction> predictions = predictions(d);
      TestInputTopic<String, Feedback> feedback = feedback(d);
      TestOutputTopic<String, byte[]> rejected = d.createOutputTopic(topics.recordsRejected.name(),
          Serdes.String().deserializer(), Serdes.ByteArray().deserializer());
      Instant at = Instant.parse("2026-01-01T00:00:00Z");
      for (String id : List.of("q1", "q2")) {
        predictions.pipeInput(new TestRecord<>(id, Prediction.of(id, "fashion", 1, List.of(new LabelProbability("Bag", 0.9)),
            1.0, at), at));
      }
      // "8" is Bag's class index: the answer was right, as ingest reads it
      feedback.pipeInput(new TestRecord<>("q1", Feedback.of("q1", "8", "ann", at.plusMillis(10)), at.plusMillis(10)));
      // keyed q2 but about q1: it would join q2's prediction
      feedback.pipeInput(new TestRecord<>("q2", Feedback.of("q1", "Coat", "ann", at.plusMillis(20)), at.plusMillis(20)));

      assertThat(registry.counter("streamtune.evaluator.outcomes", "model", "fashion", "version", "1", "correct", "true").count())
          .isEqualTo(1);
      assertThat(registry.find("streamtune.evaluator.outcomes").tag("correct", "false").counter()).satisfiesAnyOf(
          c -> assertThat(c).isNull(), c -> assertThat(c.count()).isZero());
      // ingest, the feedback topic's rejecter, rejects it by the same rule: here it is skipped, not rejected a second time
      assertThat(rejected.readRecordsToList()).isEmpty();
      assertThat(registry.counter(RejectedRecords.SKIPPED, "topic", topics.feedback.name()).count()).isEqualTo(1);
    }
  }

  @Test
  void shouldCountAPredictionsFirstLabelOnceAndIgnoreARepeatOrASecondOpinion() {
    try (TopologyTestDriver d = driver()) {
      TestInputTopic<String, Prediction> predictions = predictions(d);
      TestInputTopic<String, Feedback> feedback = feedback(d);
      Instant at = Instant.parse("2026-01-01T00:00:00Z");
      // the label arrives first, then the prediction, then the same label resent and another label
      feedback.pipeInput(new TestRecord<>("r1", Feedback.of("r1", "Bag", "ann", at), at));
      predictions.pipeInput(new TestRecord<>("r1", Prediction.of("r1", "fashion", 1, List.of(new LabelProbability("Bag", 0.9)),
          1.0, at.plusMillis(5)), at.plusMillis(5)));
      feedback.pipeInput(new TestRecord<>("r1", Feedback.of("r1", "Bag", "ann", at.plusSeconds(1)), at.plusSeconds(1)));
      feedback.pipeInput(new TestRecord<>("r1", Feedback.of("r1", "Coat", "reviewer", at.plusSeconds(2)), at.plusSeconds(2)));

      assertThat(registry.counter("streamtune.evaluator.outcomes", "model", "fashion", "version", "1", "correct", "true").count())
          .isEqualTo(1);
      assertThat(registry.find("streamtune.evaluator.outcomes").tag("correct", "false").counter()).satisfiesAnyOf(
          c -> assertThat(c).isNull(), c -> assertThat(c.count()).isZero());
      assertThat(registry.counter(EvaluatorMeters.FEEDBACK_IGNORED, "reason", "repeat").count()).isEqualTo(1);
      assertThat(registry.counter(EvaluatorMeters.FEEDBACK_IGNORED, "reason", "relabelled").count()).isEqualTo(1);
    }
  }

  @Test
  void shouldCountALabelWhosePredictionNeverArrivedOnceItsWindowClosed() {
    try (TopologyTestDriver d = driver()) {
      TestInputTopic<String, Prediction> predictions = predictions(d);
      TestInputTopic<String, Feedback> feedback = feedback(d);
      Instant at = Instant.parse("2026-01-01T00:00:00Z");
      feedback.pipeInput(new TestRecord<>("lost", Feedback.of("lost", "Bag", "ann", at), at));
      d.advanceWallClockTime(Duration.ofSeconds(2)); // Kafka Streams looks for closed windows at most once a second
      Instant later = at.plus(Duration.ofHours(2));
      predictions.pipeInput(new TestRecord<>("other", Prediction.of("other", "fashion", 1,
          List.of(new LabelProbability("Bag", 0.9)), 1.0, later), later));

      assertThat(registry.counter(EvaluatorMeters.FEEDBACK_IGNORED, "reason", EvaluatorMeters.NO_PREDICTION).count())
          .isEqualTo(1);
      assertThat(registry.find("streamtune.evaluator.outcomes").counters()).allSatisfy(c -> assertThat(c.count()).isZero());
    }
  }

  @Test
  void shouldRunCoresStreamErrorHandlersWithRecordsRejectedAsTheDeadLetterTopic() {
    Properties p = EvaluatorService.streamsProperties(cfg, TestData.tempDir("streams"), registry);

    assertThat(p).containsEntry(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, StreamsErrorHandlers.Processing.class)
        .containsEntry(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, StreamsErrorHandlers.Deserialization.class)
        .containsEntry(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, StreamsErrorHandlers.Production.class)
        .containsEntry(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, topics.recordsRejected.name())
        .containsEntry(StreamsErrorHandlers.REGISTRY_CONFIG, registry);
    assertThat(registry.find("streamtune.stream.errors").tag("service", "evaluator").counters()).hasSize(3);
  }

  @Test
  void shouldRejectUnreadablePredictionsOnceAndKeepGoing() {
    try (TopologyTestDriver d = driver()) {
      TestInputTopic<String, byte[]> rawPredictions = d.createInputTopic(topics.predictions.name(), Serdes.String().serializer(),
          Serdes.ByteArray().serializer());
      TestInputTopic<String, byte[]> rawFeedback = d.createInputTopic(topics.feedback.name(), Serdes.String().serializer(),
          Serdes.ByteArray().serializer());
      TestOutputTopic<String, byte[]> rejected = d.createOutputTopic(topics.recordsRejected.name(), Serdes.String().deserializer(),
          Serdes.ByteArray().deserializer());
      rawPredictions.pipeInput("p1", "{not json".getBytes(StandardCharsets.UTF_8));
      rawPredictions.pipeInput("p2", "{\"schema\": 9, \"id\": \"p2\"}".getBytes(StandardCharsets.UTF_8));
      // the evaluator is the predictions topic's rejecter; ingest is feedback's, so unreadable feedback is only skipped here
      rawFeedback.pipeInput("f1", "{not json".getBytes(StandardCharsets.UTF_8));
      rawFeedback.pipeInput("f2", ("{\"schema\": 9, \"predictionId\": \"f2\", \"label\": \"Bag\", \"timestamp\": "
          + "\"2026-01-01T00:00:00Z\"}").getBytes(StandardCharsets.UTF_8));
      List<TestRecord<String, byte[]>> out = rejected.readRecordsToList();
      assertThat(out).extracting(TestRecord::key).containsExactly("p1", "p2");
      assertThat(new String(out.get(0).headers().lastHeader(Topics.HEADER_REJECT_REASON).value(), StandardCharsets.UTF_8))
          .contains("not a valid Prediction record");
      assertThat(new String(out.get(1).headers().lastHeader(Topics.HEADER_REJECT_REASON).value(), StandardCharsets.UTF_8))
          .contains("schema version 9");
      assertThat(new String(out.get(0).value(), StandardCharsets.UTF_8)).isEqualTo("{not json");
      assertThat(registry.counter("streamtune.records.rejected", "topic", topics.predictions.name()).count()).isEqualTo(2);
      assertThat(registry.counter(RejectedRecords.SKIPPED, "topic", topics.feedback.name()).count()).isEqualTo(2);
      // the stream goes on
      Instant at = Instant.parse("2026-01-01T00:00:00Z");
      predictions(d).pipeInput(new TestRecord<>("p3", Prediction.of("p3", "fashion", 1, List.of(new LabelProbability("Bag",
          0.9)), 1.0, at), at));
      feedback(d).pipeInput(new TestRecord<>("p3", Feedback.of("p3", "Bag", "ann", at.plusMillis(5)), at.plusMillis(5)));
      assertThat(registry.counter("streamtune.evaluator.outcomes", "model", "fashion", "version", "1", "correct", "true").count())
          .isEqualTo(1);
    }
  }

  @Test
  void shouldWriteEveryOutcomeAndPredictionThroughToTheMonitorStoresThatRestoreThem() {
    // the processors read their state from memory after the first record: the stores (and so their changelogs) must still
    // hold the state after each record, as a restarted evaluator restores from them
    try (TopologyTestDriver d = driver()) {
      TestInputTopic<String, Prediction> predictions = predictions(d);
      TestInputTopic<String, Feedback> feedback = feedback(d);
      Instant t = Instant.parse("2026-01-01T00:00:00Z");
      for (int i = 0; i < 300; i++) {
        Instant at = t.plusSeconds(i);
        answerBagAndLabel(predictions, feedback, "p" + i, i % 3 == 0 ? "Coat" : "Bag", at);
        if (i == 99 || i == 299) {
          ModelMonitor.State monitor = d.<String, ModelMonitor.State>getKeyValueStore(EvaluatorTopology.MONITOR_STORE)
              .get("fashion");
          assertThat(monitor.versions().get(1).outcomes()).isEqualTo(i + 1);
          assertThat(monitor.versions().get(1).correct()).isEqualTo((i + 1) - (i / 3 + 1));
          ConfidenceMonitor.State confidence = d.<String, ConfidenceMonitor.State>getKeyValueStore(
              EvaluatorTopology.CONFIDENCE_STORE).get("fashion/1");
          assertThat(confidence.n()).isEqualTo(i + 1);
        }
      }
    }
  }

  /** Version 1 of "fashion" answers Bag at 0.9 to {@code id} at {@code at}; the label {@code truth} follows 500 ms later. */
  private static void answerBagAndLabel(TestInputTopic<String, Prediction> predictions, TestInputTopic<String, Feedback> feedback,
      String id, String truth, Instant at) {
    predictions.pipeInput(new TestRecord<>(id, Prediction.of(id, "fashion", 1, List.of(new LabelProbability("Bag", 0.9)), 1.0,
        at), at));
    feedback.pipeInput(new TestRecord<>(id, Feedback.of(id, truth, "test", at.plusMillis(500)), at.plusMillis(500)));
  }

  /** Pipes n predictions of version 1 whose top-1 confidence is uniform in [lo, hi], one a second from second `from`. */
  private TestInputTopic<String, Prediction> predictions(TopologyTestDriver d) {
    return d.createInputTopic(topics.predictions.name(), Serdes.String().serializer(), topics.predictions.valueSerde().serializer());
  }

  private TestInputTopic<String, Feedback> feedback(TopologyTestDriver d) {
    return d.createInputTopic(topics.feedback.name(), Serdes.String().serializer(), topics.feedback.valueSerde().serializer());
  }

  private static void predict(TestInputTopic<String, Prediction> predictions, SplittableRandom rnd, int from, int n, double lo,
      double hi) {
    Instant t = Instant.parse("2026-01-01T00:00:00Z");
    for (int i = from; i < from + n; i++) {
      Instant at = t.plusSeconds(i);
      predictions.pipeInput(new TestRecord<>("p" + i, Prediction.of("p" + i, "fashion", 1,
          List.of(new LabelProbability("Bag", lo + (hi - lo) * rnd.nextDouble())), 1.0, at), at));
    }
  }

  @Test
  void shouldStayQuietWhileServedConfidencesAreStable() {
    try (TopologyTestDriver d = driver()) {
      TestInputTopic<String, Prediction> predictions = predictions(d);
      TestOutputTopic<String, DriftSignal> drift = d.createOutputTopic(topics.drift.name(), Serdes.String().deserializer(),
          topics.drift.valueSerde().deserializer());
      predict(predictions, new SplittableRandom(5), 0, 3_000, 0.85, 1.0);
      assertThat(drift.readValuesToList()).isEmpty();
    }
  }

  @Test
  void shouldSignalDataDriftFromFallingConfidencesBeforeAnyFeedback() {
    try (TopologyTestDriver d = driver()) {
      TestInputTopic<String, Prediction> predictions = predictions(d);
      TestOutputTopic<String, DriftSignal> drift = d.createOutputTopic(topics.drift.name(), Serdes.String().deserializer(),
          topics.drift.valueSerde().deserializer());
      SplittableRandom rnd = new SplittableRandom(5);
      Instant t = Instant.parse("2026-01-01T00:00:00Z");
      predict(predictions, rnd, 0, 1_000, 0.9, 1.0); // around 0.95
      assertThat(drift.isEmpty()).isTrue();
      predict(predictions, rnd, 1_000, 1_000, 0.45, 0.65); // around 0.55, no feedback at all

      List<TestRecord<String, DriftSignal>> out = drift.readRecordsToList();
      assertThat(out).isNotEmpty();
      DriftSignal first = out.get(0).value();
      assertThat(out.get(0).key()).isEqualTo("fashion");
      assertThat(first.kind()).isEqualTo(DriftSignal.Kind.DATA);
      assertThat(first.detector()).isEqualTo("confidence-ks");
      assertThat(first.version()).isEqualTo(1);
      assertThat(first.statistic()).isGreaterThan(first.threshold());
      assertThat(first.threshold()).isBetween(0.1, 0.3);
      assertThat(first.detectedAt()).isAfter(t.plusSeconds(1_000)).isBefore(t.plusSeconds(1_200));
      // the onset is the start of the recent window of 200 predictions
      assertThat(first.onset()).isEqualTo(first.detectedAt().minusSeconds(199));
      assertThat(first.accuracyBefore()).isNaN();
      System.out.printf("confidence-ks fired %d predictions after the shift (D %.3f > %.3f)%n",
          first.detectedAt().getEpochSecond() - t.plusSeconds(1_000).getEpochSecond(), first.statistic(), first.threshold());
      // re-armed only after the recent window has fully turned over
      for (int i = 1; i < out.size(); i++) {
        assertThat(out.get(i).value().window() - out.get(i - 1).value().window()).isGreaterThanOrEqualTo(200);
      }
      assertThat(registry.counter("streamtune.evaluator.drift.signals", "model", "fashion", "version", "1", "detector", "confidence-ks").count())
          .isEqualTo(out.size());
    }
  }
}
