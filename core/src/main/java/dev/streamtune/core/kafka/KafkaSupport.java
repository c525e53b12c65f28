package dev.streamtune.core.kafka;

import dev.streamtune.core.config.CommonConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.StreamsConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Client factories, Streams properties and topic creation shared by every service. */
public final class KafkaSupport {
  private static final Logger log = LoggerFactory.getLogger(KafkaSupport.class);

  private KafkaSupport() {}

  /** Creates every catalogued topic that does not exist yet (idempotent). */
  public static void ensureTopics(String bootstrap, Topics topics, int partitions, short replication, Duration timeout) {
    ensureTopics(KafkaClients.of(bootstrap), topics, partitions, replication, timeout);
  }

  /** {@link #ensureTopics(String, Topics, int, short, Duration)} through the process's client settings. */
  public static void ensureTopics(KafkaClients kafka, Topics topics, int partitions, short replication, Duration timeout) {
    Properties props = new Properties();
    props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) timeout.toMillis());
    kafka.addTo(props);
    props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
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
      throw new IllegalStateException("cannot create topics on " + kafka.bootstrap() + ": " + e.getCause().getMessage(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while creating topics", e);
    }
  }

  /** A producer of typed records for a topic's serdes; acks=all, idempotent. */
  public static <K, V> KafkaProducer<K, V> producer(String bootstrap, String clientId, Topic<K, V> topic) {
    return producer(KafkaClients.of(bootstrap), clientId, topic, Map.of());
  }

  /** A producer like {@link #producer(String, String, Topic)} through the process's client settings. */
  public static <K, V> KafkaProducer<K, V> producer(KafkaClients kafka, String clientId, Topic<K, V> topic) {
    return producer(kafka, clientId, topic, Map.of());
  }

  /**
   * A producer like {@link #producer(String, String, Topic)} with some settings overridden, e.g. a short
   * {@code max.block.ms} for a producer that must not hold up a request. The overrides win over the defaults (acks, linger);
   * the bootstrap servers, client id and serializers come from the arguments only.
   *
   * @throws IllegalArgumentException when {@code overrides} sets the bootstrap servers, client id or a serializer
   */
  public static <K, V> KafkaProducer<K, V> producer(String bootstrap, String clientId, Topic<K, V> topic,
      Map<String, Object> overrides) {
    return producer(KafkaClients.of(bootstrap), clientId, topic, overrides);
  }

  /** A producer like {@link #producer(String, String, Topic, Map)} through the process's client settings. */
  public static <K, V> KafkaProducer<K, V> producer(KafkaClients kafka, String clientId, Topic<K, V> topic,
      Map<String, Object> overrides) {
    return new KafkaProducer<>(producerProps(kafka, clientId, overrides), topic.keySerde().serializer(),
        topic.valueSerde().serializer());
  }

  static Properties producerProps(String bootstrap, String clientId, Map<String, Object> overrides) {
    return producerProps(KafkaClients.of(bootstrap), clientId, overrides);
  }

  static Properties producerProps(KafkaClients kafka, String clientId, Map<String, Object> overrides) {
    Properties props = new Properties();
    props.put(ProducerConfig.ACKS_CONFIG, "all");
    props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    kafka.addTo(props);
    props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
    props.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    override(props, overrides, ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, ProducerConfig.CLIENT_ID_CONFIG,
        ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG);
    return props;
  }

  /**
   * The Kafka Streams properties of a StreamTune Streams app from the common settings: {@link #streamsProps(String, String, Path,
   * short)} with the processing guarantee ({@code exactly_once_v2} by default), the client settings and, with an instance id, a
   * static group membership. Close such an app with {@link #closeAndLeave}.
   */
  public static Properties streamsProps(CommonConfig common, String applicationId, Path stateDir) {
    Properties p = streamsProps(applicationId, common.bootstrap(), stateDir, common.replication());
    p.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, common.processingGuarantee());
    // the client settings reach the Streams app's producers, consumers and admin client alike
    common.kafka().addTo(p);
    if (common.instanceId() != null) {
      // a static member (Streams appends each stream thread's index): after kill -9 the restarted instance gets its partitions
      // back without a rebalance, and the transactions of its old producers are fenced at once
      p.put(StreamsConfig.mainConsumerPrefix(ConsumerConfig.GROUP_INSTANCE_ID_CONFIG), applicationId + "-" + common.instanceId());
    }
    return p;
  }

  /**
   * The Kafka Streams properties every StreamTune Streams app sets: application id, bootstrap servers, state directory and the
   * replication factor of its internal topics. Services add their own tuning and {@link StreamsErrorHandlers#addTo}.
   */
  public static Properties streamsProps(String applicationId, String bootstrap, Path stateDir, short replication) {
    Objects.requireNonNull(stateDir, "stateDir");
    if (applicationId == null || applicationId.isBlank()) {
      throw new IllegalArgumentException("Streams application id must be non-blank, was '" + applicationId + "'");
    }
    Properties props = new Properties();
    props.put(StreamsConfig.APPLICATION_ID_CONFIG, applicationId);
    props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    props.put(StreamsConfig.STATE_DIR_CONFIG, stateDir.toAbsolutePath().toString());
    props.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) replication);
    return props;
  }

  /**
   * How a service closes its Streams app: leaving the group, so that the other instances take its partitions at once (a static
   * member would otherwise hold them until its session times out).
   */
  public static org.apache.kafka.streams.CloseOptions closeAndLeave(Duration timeout) {
    return org.apache.kafka.streams.CloseOptions.timeout(timeout).withGroupMembershipOperation(
        org.apache.kafka.streams.CloseOptions.GroupMembershipOperation.LEAVE_GROUP);
  }

  /** Consumer properties; {@code groupId} may be null for a consumer that assigns partitions itself. */
  public static Properties consumerProps(String bootstrap, String clientId, String groupId) {
    return consumerProps(KafkaClients.of(bootstrap), clientId, groupId);
  }

  /** Consumer properties through the process's client settings; {@code groupId} may be null. */
  public static Properties consumerProps(KafkaClients kafka, String clientId, String groupId) {
    Properties props = new Properties();
    props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    // the Streams apps write exactly once, in transactions: an aborted write is never read
    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    kafka.addTo(props);
    props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrap());
    props.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    if (groupId != null) {
      props.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    }
    return props;
  }

  /**
   * A consumer of raw bytes: services parse values themselves so that one bad record is rejected with a reason instead of
   * failing {@code poll()} forever.
   */
  public static KafkaConsumer<String, byte[]> rawConsumer(String bootstrap, String clientId, String groupId) {
    return rawConsumer(KafkaClients.of(bootstrap), clientId, groupId, Map.of());
  }

  /** A raw-bytes consumer like {@link #rawConsumer(String, String, String)} through the process's client settings. */
  public static KafkaConsumer<String, byte[]> rawConsumer(KafkaClients kafka, String clientId, String groupId) {
    return rawConsumer(kafka, clientId, groupId, Map.of());
  }

  /**
   * A raw-bytes consumer like {@link #rawConsumer(String, String, String)} with some settings overridden (they win over
   * {@link #consumerProps}); the bootstrap servers, client id, group and deserializers come from the arguments only.
   *
   * @throws IllegalArgumentException when {@code overrides} sets the bootstrap servers, client id, group id or a deserializer
   */
  public static KafkaConsumer<String, byte[]> rawConsumer(String bootstrap, String clientId, String groupId,
      Map<String, Object> overrides) {
    return rawConsumer(KafkaClients.of(bootstrap), clientId, groupId, overrides);
  }

  /** A raw-bytes consumer with overrides, through the process's client settings. */
  public static KafkaConsumer<String, byte[]> rawConsumer(KafkaClients kafka, String clientId, String groupId,
      Map<String, Object> overrides) {
    return new KafkaConsumer<>(rawConsumerProps(kafka, clientId, groupId, overrides), new StringDeserializer(),
        new ByteArrayDeserializer());
  }

  static Properties rawConsumerProps(String bootstrap, String clientId, String groupId, Map<String, Object> overrides) {
    return rawConsumerProps(KafkaClients.of(bootstrap), clientId, groupId, overrides);
  }

  static Properties rawConsumerProps(KafkaClients kafka, String clientId, String groupId, Map<String, Object> overrides) {
    Properties props = consumerProps(kafka, clientId, groupId);
    override(props, overrides, ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, ConsumerConfig.CLIENT_ID_CONFIG,
        ConsumerConfig.GROUP_ID_CONFIG, ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
        ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG);
    return props;
  }

  /**
   * Assigns every partition of {@code topics} to {@code consumer} (no group) and seeks to the beginning: for a service that
   * rebuilds its state by re-reading topics on start. Returns the end offsets at this moment; {@link #reached} tells when the
   * consumer has read up to them.
   *
   * @param timeout how long to wait for each topic's partitions
   */
  public static Map<TopicPartition, Long> assignFromBeginning(Consumer<?, ?> consumer, List<String> topics, Duration timeout) {
    List<TopicPartition> parts = new ArrayList<>();
    for (String topic : topics) {
      consumer.partitionsFor(topic, timeout).forEach(p -> parts.add(new TopicPartition(topic, p.partition())));
    }
    consumer.assign(parts);
    consumer.seekToBeginning(parts);
    return consumer.endOffsets(parts);
  }

  /** True when {@code consumer}'s position is at or past every one of {@code ends} (from {@link #assignFromBeginning}). */
  public static boolean reached(Consumer<?, ?> consumer, Map<TopicPartition, Long> ends) {
    return ends.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue());
  }

  private static void override(Properties props, Map<String, Object> overrides, String... reserved) {
    Objects.requireNonNull(overrides, "overrides");
    for (String key : reserved) {
      if (overrides.containsKey(key)) {
        throw new IllegalArgumentException("client override '" + key + "' is not allowed: it is set from the arguments");
      }
    }
    props.putAll(overrides);
  }
}
