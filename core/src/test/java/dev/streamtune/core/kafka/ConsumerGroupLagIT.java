package dev.streamtune.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.testing.TestKafka;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class ConsumerGroupLagIT {
  private static final Topics TOPICS = Topics.withDefaultPrefix();

  /** A group that committed 4 of 10 records is 6 behind on that partition, also with no member alive; a group with no commit has no rows. */
  @Test
  void shouldExportEachGroupsLagPerPartitionFromCommittedAndEndOffsets() throws Exception {
    try (EmbeddedKafkaBroker broker = TestKafka.startWith(TOPICS)) {
      String bootstrap = broker.bootstrapServers();
      String topic = TOPICS.inputs.name();
      try (KafkaProducer<String, byte[]> p = KafkaSupport.producer(bootstrap, "lag-it", TOPICS.inputs)) {
        for (int i = 0; i < 10; i++) {
          p.send(new ProducerRecord<>(topic, "k" + i, "v".getBytes(StandardCharsets.UTF_8))).get();
        }
      }
      try (KafkaConsumer<String, byte[]> c = KafkaSupport.rawConsumer(bootstrap, "lag-it-c", "lag-it-group")) {
        c.commitSync(Map.of(new TopicPartition(topic, 0), new OffsetAndMetadata(4)));
      }
      SimpleMeterRegistry registry = new SimpleMeterRegistry();
      try (ConsumerGroupLag lag = new ConsumerGroupLag(KafkaClients.of(bootstrap), List.of("lag-it-group", "never-committed"),
          Duration.ofMillis(200))) {
        lag.bindTo(registry);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (registry.find(ConsumerGroupLag.METER).gauges().isEmpty() && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
        assertThat(registry.get(ConsumerGroupLag.METER).tags("group", "lag-it-group", "topic", topic, "partition", "0").gauge()
            .value()).isEqualTo(6.0);
        assertThat(registry.find(ConsumerGroupLag.METER).tag("group", "never-committed").gauges()).isEmpty();
      }
    }
  }
}
