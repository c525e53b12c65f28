package dev.streamtune.serving.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.metrics.Metrics;
import dev.streamtune.core.records.LabelProbability;
import dev.streamtune.core.records.Prediction;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Real producers pointed at a broker that is not there: no event is lost without being counted, and no caller waits. */
class EventPublisherTest {
  private static final Topics TOPICS = Topics.withDefaultPrefix();

  @Test
  void shouldCountEveryEventThatCannotBeSentWithoutHoldingUpTheCaller() {
    ServingMetrics metrics = new ServingMetrics("fashion");
    var registry = Metrics.newRegistry("serving-test");
    metrics.bindTo(registry);
    KafkaClients nowhere = KafkaClients.of("localhost:1");
    EventPublisher events = new EventPublisher(EventPublisher.producer(nowhere, "test-predictions", TOPICS.predictions),
        EventPublisher.producer(nowhere, "test-inputs", TOPICS.inputs), TOPICS.predictions, TOPICS.inputs, 4, metrics,
        Duration.ZERO);
    // both topics' failure counters exist at 0 before the first failure (increase() then counts it)
    assertThat(registry.find(ServingMetrics.EVENTS_FAILED).counters()).extracting(c -> c.getId().getTag("topic"))
        .containsExactlyInAnyOrder(TOPICS.predictions.name(), TOPICS.inputs.name());
    // each send blocks the sender max.block.ms (100 ms) on metadata: the queue of 4 fills and the rest are refused at once
    // (the sender holds at most 1 + 4 taken before it blocked, the queue 4 more)
    for (int r = 0; r < 10; r++) {
      List<EventPublisher.Event> request = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        request.add(new EventPublisher.Event(prediction("r" + r + "i" + i), () -> new byte[] {1, 2, 3}));
      }
      events.publish(request);
    }
    // the caller did not wait for Kafka: the accepted events are still failing one max.block.ms after another
    assertThat(metrics.eventsFailed()).as("refused at once: a full queue").isGreaterThanOrEqualTo(2L * (30 - 9))
        .isLessThan(60);
    events.close();
    // 30 images, 2 events each: sent to nowhere, refused, or left at close, every one of them is counted
    assertThat(metrics.eventsFailed()).isEqualTo(60);
    events.publish(prediction("late"), new byte[] {1});
    assertThat(metrics.eventsFailed()).isEqualTo(62);
  }

  @Test
  void shouldCountAnImageThatCannotBeEncodedAndSendItsPrediction() {
    ServingMetrics metrics = new ServingMetrics("fashion");
    metrics.bindTo(Metrics.newRegistry("serving-test"));
    KafkaClients nowhere = KafkaClients.of("localhost:1");
    try (EventPublisher events = new EventPublisher(EventPublisher.producer(nowhere, "test-predictions", TOPICS.predictions),
        EventPublisher.producer(nowhere, "test-inputs", TOPICS.inputs), TOPICS.predictions, TOPICS.inputs, 4, metrics,
        Duration.ZERO)) {
      events.publish(List.of(new EventPublisher.Event(prediction("bad"), () -> {
        throw new IllegalArgumentException("no such spec");
      })));
    }
    // the prediction failed on the absent broker, the input before it was sent: two events, both counted
    assertThat(metrics.eventsFailed()).isEqualTo(2);
  }

  private static Prediction prediction(String id) {
    return Prediction.of(id, "fashion", 1, List.of(new LabelProbability("Bag", 0.9)), 1.0, Instant.now());
  }
}
