package dev.streamtune.serving.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.metrics.Metrics;
import dev.streamtune.core.records.LabelProbability;
import dev.streamtune.core.records.Prediction;
import dev.streamtune.core.testing.TestKafka;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The event sender against a real broker: every event of every request arrives once, the lazily encoded ones included. */
class EventPublisherIT {
  private static final Topics TOPICS = Topics.withDefaultPrefix();
  private static EmbeddedKafkaBroker broker;

  @BeforeAll
  static void startBroker() {
    broker = TestKafka.startWith(TOPICS);
  }

  @AfterAll
  static void stopBroker() {
    if (broker != null) {
      broker.close();
    }
  }

  @Test
  void shouldDeliverEveryEventOfEveryRequestOnceAndEncodeImagesOffTheCaller() throws Exception {
    KafkaClients kafka = KafkaClients.of(broker.bootstrapServers());
    ServingMetrics metrics = new ServingMetrics("fashion");
    var registry = Metrics.newRegistry("serving-test");
    metrics.bindTo(registry);
    AtomicInteger encodedOn = new AtomicInteger();
    String caller = Thread.currentThread().getName();
    Map<String, String> expected = new HashMap<>();
    try (EventPublisher events = new EventPublisher(EventPublisher.producer(kafka, "it-predictions", TOPICS.predictions),
        EventPublisher.producer(kafka, "it-inputs", TOPICS.inputs), TOPICS.predictions, TOPICS.inputs, 10_000, metrics)) {
      // 50 requests of 1..8 images each, one image at a time and whole requests, as /predict and the V2 paths publish them
      for (int r = 0; r < 50; r++) {
        List<EventPublisher.Event> request = new ArrayList<>();
        for (int i = 0; i <= r % 8; i++) {
          String id = "req" + r + "-img" + i;
          String image = "png of " + id;
          expected.put(id, image);
          Prediction p = Prediction.of(id, "fashion", 1, List.of(new LabelProbability("Bag", 0.9)), 1.0, Instant.now());
          if (i % 2 == 0) {
            request.add(new EventPublisher.Event(p, () -> {
              if (!Thread.currentThread().getName().equals(caller)) {
                encodedOn.incrementAndGet();
              }
              return image.getBytes(StandardCharsets.UTF_8);
            }));
          } else {
            events.publish(p, image.getBytes(StandardCharsets.UTF_8));
          }
        }
        events.publish(request);
      }
    }
    // close() sent what was queued: every event is on its topic once or counted as failed (a broker that started a moment ago
    // may still refuse the first ones on metadata), and nothing else
    int failedInputs = failed(registry, TOPICS.inputs.name());
    int failedPredictions = failed(registry, TOPICS.predictions.name());
    assertThat(failedInputs + failedPredictions).as("events counted as failed").isLessThanOrEqualTo(4);
    Map<String, String> inputs = readAll(TOPICS.inputs.name(), expected.size() - failedInputs);
    Map<String, String> predictions = readAll(TOPICS.predictions.name(), expected.size() - failedPredictions);
    assertThat(expected.keySet()).containsAll(inputs.keySet()).containsAll(predictions.keySet());
    inputs.forEach((id, image) -> assertThat(image).isEqualTo(expected.get(id)));
    assertThat(predictions.get("req9-img1")).contains("\"id\":\"req9-img1\"");
    long lazy = expected.keySet().stream().filter(id -> Integer.parseInt(id.substring(id.indexOf("img") + 3)) % 2 == 0).count();
    assertThat(encodedOn.get()).as("images encoded on the sender thread").isBetween((int) lazy - failedInputs, (int) lazy);
  }

  private static int failed(io.micrometer.core.instrument.MeterRegistry registry, String topic) {
    var c = registry.find(ServingMetrics.EVENTS_FAILED).tag("topic", topic).counter();
    return c == null ? 0 : (int) c.count();
  }

  /** The records of a topic by key, after exactly {@code count} arrived and nothing more within half a second. */
  private static Map<String, String> readAll(String topic, int count) {
    AtomicInteger seen = new AtomicInteger();
    List<ConsumerRecord<String, byte[]>> records = TestKafka.read(broker.bootstrapServers(), topic, Duration.ofSeconds(30),
        Duration.ofMillis(500), r -> seen.incrementAndGet() >= count);
    assertThat(records).as("records on " + topic).hasSize(count);
    Map<String, String> byKey = new HashMap<>();
    records.forEach(r -> byKey.put(r.key(), new String(r.value(), StandardCharsets.UTF_8)));
    assertThat(byKey).as("each id once on " + topic).hasSize(count);
    return byKey;
  }
}
