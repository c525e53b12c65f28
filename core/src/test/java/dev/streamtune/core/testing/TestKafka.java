package dev.streamtune.core.testing;

import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/** A real in-process KRaft broker for integration tests, and reading a topic back. */
public final class TestKafka {
  private TestKafka() {}

  /** Starts a single-node broker on a free port with a throw-away data dir, with every topic of {@code topics} (1 partition). */
  public static EmbeddedKafkaBroker startWith(Topics topics) {
    EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(0).dataDir(null).build();
    broker.start();
    KafkaSupport.ensureTopics(broker.bootstrapServers(), topics, 1, (short) 1, Duration.ofSeconds(30));
    return broker;
  }

  /**
   * The records of {@code topic} from its beginning: reads until one satisfies {@code enough} (or {@code wait} passes), then
   * {@code settle} longer, so that a record published right after it is seen too.
   */
  public static List<ConsumerRecord<String, byte[]>> read(String bootstrap, String topic, Duration wait, Duration settle,
      Predicate<ConsumerRecord<String, byte[]>> enough) {
    List<ConsumerRecord<String, byte[]>> out = new ArrayList<>();
    try (KafkaConsumer<String, byte[]> consumer = KafkaSupport.rawConsumer(bootstrap, "test-reader", null)) {
      List<TopicPartition> parts = consumer.partitionsFor(topic).stream()
          .map(i -> new TopicPartition(i.topic(), i.partition())).toList();
      consumer.assign(parts);
      consumer.seekToBeginning(parts);
      long deadline = System.nanoTime() + wait.toNanos();
      while (System.nanoTime() < deadline) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          out.add(r);
          if (enough.test(r) && deadline - System.nanoTime() > settle.toNanos()) {
            deadline = System.nanoTime() + settle.toNanos();
          }
        }
      }
    }
    return out;
  }
}
