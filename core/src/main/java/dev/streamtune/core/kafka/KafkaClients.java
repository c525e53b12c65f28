package dev.streamtune.core.kafka;

import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;

/**
 * How every Kafka client of a process reaches the cluster: the bootstrap servers and the client settings a shared cluster needs
 * (security protocol, SASL mechanism and JAAS, truststore, ...), given as {@code streamtune.kafka.<client key>} and passed through
 * to every producer, consumer, admin client and Streams app as they are, after StreamTune's defaults (so {@code acks},
 * {@code linger.ms} or {@code isolation.level} can be tuned); the keys that define a client's identity are refused.
 *
 * @param settings Kafka client keys (without the {@code streamtune.kafka.} prefix) to their values
 */
public record KafkaClients(String bootstrap, Map<String, String> settings) {
  /** The prefix of pass-through settings. */
  public static final String PREFIX = "streamtune.kafka.";
  /** Keys a pass-through setting may not set: StreamTune sets them per client, or they have their own setting. */
  public static final Set<String> RESERVED = Set.of("bootstrap.servers", "client.id", "group.id", "key.serializer",
      "value.serializer", "key.deserializer", "value.deserializer", "application.id", "transactional.id");

  public KafkaClients {
    Objects.requireNonNull(bootstrap, "bootstrap");
    settings = Map.copyOf(new TreeMap<>(settings));
    for (String k : settings.keySet()) {
      if (RESERVED.contains(k)) {
        throw new IllegalArgumentException(PREFIX + k + " cannot be passed through: StreamTune sets " + k + " per client"
            + (k.equals("bootstrap.servers") ? " (use streamtune.bootstrap)" : ""));
      }
    }
  }

  /** Only the bootstrap servers (a plaintext cluster, the embedded broker). */
  public static KafkaClients of(String bootstrap) {
    return new KafkaClients(bootstrap, Map.of());
  }

  /** Adds the pass-through settings to a client's properties, over StreamTune's defaults. */
  void addTo(Properties props) {
    props.putAll(settings);
  }

  /** Without the values (a JAAS config holds a password): the bootstrap servers and the keys. */
  @Override
  public String toString() {
    return "KafkaClients[bootstrap=" + bootstrap + ", settings=" + settings.keySet() + "]";
  }
}
