package dev.streamtune.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class KafkaSupportTest {
  @Test
  void shouldLetProducerOverridesWinOverTheDefaults() {
    Properties p = KafkaSupport.producerProps("broker:9092", "svc-http",
        Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, 100, ProducerConfig.LINGER_MS_CONFIG, 0));

    assertThat(p).containsEntry(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "broker:9092")
        .containsEntry(ProducerConfig.CLIENT_ID_CONFIG, "svc-http").containsEntry(ProducerConfig.ACKS_CONFIG, "all")
        .containsEntry(ProducerConfig.MAX_BLOCK_MS_CONFIG, 100).containsEntry(ProducerConfig.LINGER_MS_CONFIG, 0);
    assertThat(KafkaSupport.producerProps("broker:9092", "svc", Map.of())).containsEntry(ProducerConfig.LINGER_MS_CONFIG, 5);
  }

  @Test
  void shouldRejectOverridesOfWhatTheArgumentsSet() {
    assertThatThrownBy(() -> KafkaSupport.producerProps("broker:9092", "svc", Map.of(ProducerConfig.CLIENT_ID_CONFIG, "x")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'client.id'");
    assertThatThrownBy(() -> KafkaSupport.rawConsumerProps("broker:9092", "svc", "g",
        Map.of(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, "x"))).hasMessageContaining("'value.deserializer'");
  }

  @Test
  void shouldApplyConsumerOverridesOnTheSharedConsumerDefaults() {
    Properties p = KafkaSupport.rawConsumerProps("broker:9092", "svc-promotions", null,
        Map.of(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false));

    assertThat(p).containsEntry(ConsumerConfig.ALLOW_AUTO_CREATE_TOPICS_CONFIG, false)
        .containsEntry(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest").containsEntry(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false)
        .doesNotContainKey(ConsumerConfig.GROUP_ID_CONFIG);
  }

  @Test
  void shouldReadEveryPartitionFromTheBeginningAndSayWhenTheEndSeenAtStartIsReached() {
    MockConsumer<String, byte[]> consumer = new MockConsumer<>("earliest");
    TopicPartition a0 = new TopicPartition("a", 0);
    TopicPartition a1 = new TopicPartition("a", 1);
    TopicPartition b0 = new TopicPartition("b", 0);
    consumer.updatePartitions("a", List.of(new PartitionInfo("a", 0, null, null, null), new PartitionInfo("a", 1, null, null,
        null)));
    consumer.updatePartitions("b", List.of(new PartitionInfo("b", 0, null, null, null)));
    consumer.updateBeginningOffsets(Map.of(a0, 0L, a1, 0L, b0, 0L));
    consumer.updateEndOffsets(Map.of(a0, 2L, a1, 0L, b0, 1L));

    Map<TopicPartition, Long> ends = KafkaSupport.assignFromBeginning(consumer, List.of("a", "b"), Duration.ofSeconds(1));

    assertThat(consumer.assignment()).containsExactlyInAnyOrder(a0, a1, b0);
    assertThat(ends).containsEntry(a0, 2L).containsEntry(a1, 0L).containsEntry(b0, 1L);
    assertThat(KafkaSupport.reached(consumer, ends)).isFalse();
    consumer.addRecord(new ConsumerRecord<>("a", 0, 0, "k", new byte[0]));
    consumer.addRecord(new ConsumerRecord<>("a", 0, 1, "k", new byte[0]));
    consumer.poll(Duration.ZERO);
    assertThat(KafkaSupport.reached(consumer, ends)).as("b-0 not read yet").isFalse();
    consumer.addRecord(new ConsumerRecord<>("b", 0, 0, "k", new byte[0]));
    consumer.poll(Duration.ZERO);
    assertThat(KafkaSupport.reached(consumer, ends)).isTrue();
  }
}
