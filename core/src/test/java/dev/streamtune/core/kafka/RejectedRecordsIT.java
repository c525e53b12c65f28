package dev.streamtune.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.testing.TestKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.record.TimestampType;
import org.junit.jupiter.api.Test;

/** One rejecter per topic: a bad record read by several services is rejected once, and skipped (counted) by the others. */
class RejectedRecordsIT {
  private final Topics topics = new Topics("t.");

  @Test
  void shouldGiveEveryReadTopicExactlyOneRejecter() {
    Set<String> written = Set.of(topics.recordsRejected.name(), topics.samplesRejected.name());
    for (Topic<?, ?> topic : topics.all()) {
      if (written.contains(topic.name())) {
        continue; // dead-letter topics: written, never parsed by a service
      }
      TopicReader r = topics.rejecter(topic.name());
      assertThat(r).as("rejecter of %s", topic.name()).isNotNull();
      assertThat(EnumSet.allOf(TopicReader.class).stream().filter(x -> topics.rejects(x, topic.name())).toList())
          .as("readers that reject %s", topic.name()).containsExactly(r);
    }
    assertThat(topics.rejecter(topics.promotions.name())).isEqualTo(TopicReader.GATE);
    assertThat(topics.rejecter(topics.feedback.name())).isEqualTo(TopicReader.INGEST);
    assertThat(topics.rejecter(topics.predictions.name())).isEqualTo(TopicReader.EVALUATOR);
    // readers of no topic of their own skip every unreadable record they meet
    assertThat(topics.all().stream().map(Topic::name).filter(n -> topics.rejects(TopicReader.SERVING, n)
        || topics.rejects(TopicReader.FEATURES, n)).collect(Collectors.toSet())).isSubsetOf(written);
    // a topic outside the catalogue is rejected by whoever reads it
    assertThat(topics.rejects(TopicReader.SERVING, "elsewhere")).isTrue();
  }

  @Test
  void shouldSkipAndCountARecordWhoseTopicAnotherReaderRejects() {
    SimpleMeterRegistry registry = new SimpleMeterRegistry();
    // nothing listens on port 9: a skip sends nothing, so it never reaches the broker
    try (RejectedRecords serving = new RejectedRecords(KafkaClients.of("localhost:9"), "node-1", TopicReader.SERVING, topics,
        registry)) {
      ConsumerRecord<String, byte[]> bad = new ConsumerRecord<>(topics.promotions.name(), 0, 7, "fashion",
          "{not json".getBytes(StandardCharsets.UTF_8));
      assertThat(serving.reject(bad, "not a valid Promotion record")).isFalse();
      assertThat(registry.counter(RejectedRecords.SKIPPED, "topic", topics.promotions.name()).count()).isEqualTo(1);
      assertThat(registry.find("streamtune.records.rejected").counter()).isNull();
    }
  }

  @Test
  void shouldSendTheRejectersRecordWithItsReasonOriginAndReaderOnAReadTopicOnce() {
    Topics t = Topics.withDefaultPrefix();
    try (EmbeddedKafkaBroker broker = TestKafka.startWith(t)) {
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      KafkaClients kafka = KafkaClients.of(broker.bootstrapServers());
      RecordHeaders headers = new RecordHeaders();
      headers.add("trace", "abc".getBytes(StandardCharsets.UTF_8));
      ConsumerRecord<String, byte[]> bad = new ConsumerRecord<>(t.promotions.name(), 0, 41, 0L, TimestampType.CREATE_TIME, 0, 0,
          "fashion", "{not json".getBytes(StandardCharsets.UTF_8), headers, java.util.Optional.empty());
      // the same record read by the gate, the feature worker, the trainer and a serving node: only the gate sends it
      try (RejectedRecords gate = new RejectedRecords(kafka, "ev-gate", TopicReader.GATE, t, registry);
          RejectedRecords features = new RejectedRecords(kafka, "ev-features", TopicReader.FEATURES, t, registry);
          RejectedRecords trainer = new RejectedRecords(kafka, "tr", TopicReader.TRAINER, t, registry);
          RejectedRecords node = new RejectedRecords(kafka, "node", TopicReader.SERVING, t, registry)) {
        assertThat(List.of(gate.reject(bad, "not a valid Promotion record"), features.reject(bad, "x"), trainer.reject(bad, "x"),
            node.reject(bad, "x"))).containsExactly(true, false, false, false);
        // a held-out sample is read by the gate alone (the trainer skips it unread): the gate rejects it, though the trainer
        // is the samples topic's rejecter
        ConsumerRecord<String, byte[]> heldOut = new ConsumerRecord<>(t.samples.name(), 0, 3, "s-held",
            "[]".getBytes(StandardCharsets.UTF_8));
        assertThat(gate.reject(heldOut, "x")).isFalse();
        gate.rejectReadAlone(heldOut, "not a valid Sample record");
      }
      List<ConsumerRecord<String, byte[]>> out = TestKafka.read(broker.bootstrapServers(), t.recordsRejected.name(),
          Duration.ofSeconds(30), Duration.ofSeconds(2), r -> true);
      assertThat(out).hasSize(2);
      assertThat(out.get(1)).satisfies(r -> {
        assertThat(r.key()).isEqualTo("s-held");
        assertThat(text(r, Topics.HEADER_REJECT_BY)).isEqualTo("ev-gate");
        assertThat(text(r, Topics.HEADER_REJECT_REASON)).isEqualTo("not a valid Sample record");
      });
      assertThat(out.get(0)).satisfies(r -> {
        assertThat(r.key()).isEqualTo("fashion");
        assertThat(new String(r.value(), StandardCharsets.UTF_8)).isEqualTo("{not json");
        assertThat(text(r, Topics.HEADER_REJECT_REASON)).isEqualTo("not a valid Promotion record");
        assertThat(text(r, Topics.HEADER_REJECT_TOPIC)).isEqualTo(t.promotions.name() + "-0@41");
        assertThat(text(r, Topics.HEADER_REJECT_BY)).isEqualTo("ev-gate");
        assertThat(text(r, "trace")).isEqualTo("abc");
      });
      assertThat(registry.counter("streamtune.records.rejected", "topic", t.promotions.name()).count()).isEqualTo(1);
      assertThat(registry.counter(RejectedRecords.SKIPPED, "topic", t.promotions.name()).count()).isEqualTo(3);
      assertThat(registry.counter("streamtune.records.rejected", "topic", t.samples.name()).count()).isEqualTo(1);
    }
  }

  private static String text(ConsumerRecord<String, byte[]> r, String header) {
    return new String(r.headers().lastHeader(header).value(), StandardCharsets.UTF_8);
  }
}
