package dev.streamtune.core.kafka;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Client factories and topic creation shared by every service. */
public final class KafkaSupport {
  private static final Logger log = LoggerFactory.getLogger(KafkaSupport.class);

  private KafkaSupport() {}

  /** Creates every catalogued topic that does not exist yet (idempotent). */
  public static void ensureTopics(String bootstrap, Topics topics, int partitions, short replication, Duration timeout) {
    Properties props = new Properties();
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
    try (Admin admin = Admin.create(props)) {
      Set<String> existing = admin.listTopics().names().get();
      List<NewTopic> missing = new ArrayList<>();
      for (Topic<?, ?> t : topics.all()) {
        if (!existing.contains(t.name())) {
          NewTopic nt = new NewTopic(t.name(), partitions, replication);
          if (t.compacted()) {
            nt.configs(Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT));
          }
          missing.add(nt);
        }
      }
      if (!missing.isEmpty()) {
        try {
          admin.createTopics(missing).all().get();
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) {
            throw e;
          }
        }
        log.info("created topics {}", missing.stream().map(NewTopic::name).toList());
      }
    } catch (ExecutionException e) {
      throw new IllegalStateException("cannot create topics on " + bootstrap + ": " + e.getCause().getMessage(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topics", e);
    }
  }

  /** A producer of typed records for a topic's serdes; acks=all, idempotent. */
  public static <K, V> KafkaProducer<K, V> producer(String bootstrap, String clientId, Topic<K, V> topic) {
    Properties props = new Properties();
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    return new KafkaProducer<>(props, topic.keySerde().serializer(), topic.valueSerde().serializer());
  }

  /** Consumer properties; {@code groupId} may be null for a consumer that assigns partitions itself. */
  public static Properties consumerProps(String bootstrap, String clientId, String groupId) {
    Properties props = new Properties();
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    if (groupId != null) {
      props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    }
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    return props;
  }

  /**
   * A consumer of raw bytes: services parse values themselves so that one bad record is rejected with a reason instead of
   * failing {@code poll()} forever.
   */
  public static KafkaConsumer<String, byte[]> rawConsumer(String bootstrap, String clientId, String groupId) {
    return new KafkaConsumer<>(consumerProps(bootstrap, clientId, groupId), new StringDeserializer(), new ByteArrayDeserializer());
  }
}
