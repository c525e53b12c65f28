package dev.streamtune.core.config;

import dev.streamtune.core.http.HttpTls;
import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.Topics;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Settings every service shares.
 *
 * @param bootstrap Kafka bootstrap servers ({@code streamtune.bootstrap})
 * @param topics the topic catalogue under {@code streamtune.topic.prefix}
 * @param model the model name ({@code streamtune.model})
 * @param storeDir the model store directory ({@code streamtune.store.dir})
 * @param holdoutShare share of sample ids kept for evaluation only ({@code streamtune.holdout.share})
 * @param partitions partitions of created topics ({@code streamtune.topic.partitions})
 * @param replication replication factor of created topics ({@code streamtune.topic.replication})
 * @param processingGuarantee the Streams apps' {@code processing.guarantee} ({@value #GUARANTEE}): {@code exactly_once_v2}
 *     (default: a restarted ingest or evaluator neither loses nor repeats a sample, an outcome or a signal) or
 *     {@code at_least_once} (for a broker without transactions)
 * @param kafkaSettings Kafka client settings passed through to every client ({@code streamtune.kafka.<client key>}, e.g.
 *     {@code streamtune.kafka.security.protocol=SASL_SSL}); see {@link KafkaClients}
 * @param httpToken the bearer token every service's HTTP endpoints require besides {@code /metrics} and {@code /health}
 *     ({@value #HTTP_TOKEN}, e.g. from {@code STREAMTUNE_HTTP_TOKEN}); null: open
 * @param httpTls the key store of the HTTP servers' certificate ({@value HttpTls#KEYSTORE} and {@value HttpTls#PASSWORD}): every
 *     service then answers HTTPS only; null: plain HTTP
 * @param instanceId this instance's stable name among the instances of its service ({@value #INSTANCE_ID}, e.g. the host
 *     name): the Streams apps then join their group as a static member, so an instance restarted after a crash takes its
 *     partitions back at once instead of after a rebalance that waits out the dead member's session; null: dynamic members
 */
public record CommonConfig(String bootstrap, Topics topics, String model, Path storeDir, double holdoutShare, int partitions,
    short replication, String processingGuarantee, Map<String, String> kafkaSettings, String httpToken, HttpTls httpTls, String instanceId) {
  public static final String BOOTSTRAP = "streamtune.bootstrap";
  public static final String TOPIC_PREFIX = "streamtune.topic.prefix";
  public static final String MODEL = "streamtune.model";
  public static final String STORE_DIR = "streamtune.store.dir";
  public static final String HOLDOUT_SHARE = "streamtune.holdout.share";
  public static final String PARTITIONS = "streamtune.topic.partitions";
  public static final String REPLICATION = "streamtune.topic.replication";
  public static final String GUARANTEE = "streamtune.processing.guarantee";
  public static final String HTTP_TOKEN = "streamtune.http.token";
  public static final String INSTANCE_ID = "streamtune.instance.id";

  public static CommonConfig from(Settings s) {
    String bootstrap = s.string(BOOTSTRAP, "localhost:9092");
    if (!bootstrap.matches("[^\\s,]+:\\d+(,[^\\s,]+:\\d+)*")) {
      throw new ConfigException(BOOTSTRAP, bootstrap, "expected HOST:PORT[,HOST:PORT...]");
    }
    Topics topics;
    String prefix = s.string(TOPIC_PREFIX, Topics.DEFAULT_PREFIX);
    try {
      topics = new Topics(prefix);
    } catch (IllegalArgumentException e) {
      throw new ConfigException(TOPIC_PREFIX, prefix, e.getMessage());
    }
    String model = s.string(MODEL, "fashion");
    if (!model.matches("[a-z0-9][a-z0-9_-]{0,62}")) {
      throw new ConfigException(MODEL, model, "a model name is 1-63 of [a-z0-9_-], starting with a letter or digit");
    }
    String guarantee = s.string(GUARANTEE, "exactly_once_v2");
    if (!guarantee.equals("exactly_once_v2") && !guarantee.equals("at_least_once")) {
      throw new ConfigException(GUARANTEE, guarantee, "must be exactly_once_v2 or at_least_once");
    }
    String token = s.string(HTTP_TOKEN, null);
    if (token != null && (token.length() < 16 || !token.matches("[\\x21-\\x7e]+"))) {
      // the value is a secret: the message does not repeat it
      throw new ConfigException(HTTP_TOKEN, "(hidden)", "a bearer token is at least 16 visible ASCII characters, no spaces");
    }
    Path keystore = s.path(HttpTls.KEYSTORE, null);
    String keystorePassword = s.string(HttpTls.PASSWORD, null);
    HttpTls tls = null;
    if (keystore != null) {
      if (!java.nio.file.Files.isReadable(keystore)) {
        throw new ConfigException(HttpTls.KEYSTORE, keystore.toString(), "is not a readable file");
      }
      tls = new HttpTls(keystore, keystorePassword == null ? new char[0] : keystorePassword.toCharArray());
      tls.context(); // a wrong password or a store without a key stops start-up here, naming the key
    } else if (keystorePassword != null) {
      throw new ConfigException(HttpTls.PASSWORD, "(hidden)", "set without " + HttpTls.KEYSTORE);
    }
    String instanceId = s.string(INSTANCE_ID, null);
    if (instanceId != null && !instanceId.matches("[A-Za-z0-9._-]{1,100}")) {
      throw new ConfigException(INSTANCE_ID, instanceId, "an instance id is 1-100 of [A-Za-z0-9._-]");
    }
    Map<String, String> kafka = new TreeMap<>();
    s.asMap().forEach((k, v) -> {
      if (k.startsWith(KafkaClients.PREFIX) && k.length() > KafkaClients.PREFIX.length()) {
        kafka.put(k.substring(KafkaClients.PREFIX.length()), v.trim());
      }
    });
    try {
      new KafkaClients(bootstrap, kafka);
    } catch (IllegalArgumentException e) {
      String key = kafka.keySet().stream().filter(KafkaClients.RESERVED::contains).findFirst().orElse("");
      throw new ConfigException(KafkaClients.PREFIX + key, kafka.get(key), e.getMessage());
    }
    return new CommonConfig(bootstrap, topics, model, s.path(STORE_DIR, Path.of("streamtune-work", "store")),
        s.decimal(HOLDOUT_SHARE, 0.2, 0.01, 0.9), s.integer(PARTITIONS, 1, 1, 1024),
        (short) s.integer(REPLICATION, 1, 1, 16), guarantee, Map.copyOf(kafka), token, tls, instanceId);
  }

  /** The bootstrap servers with the pass-through client settings: how every client of the process reaches Kafka. */
  public KafkaClients kafka() {
    return new KafkaClients(bootstrap, kafkaSettings);
  }

  /** The settings without the token's value (a config is logged). */
  @Override
  public String toString() {
    return "CommonConfig[bootstrap=" + bootstrap + ", topics=" + topics.prefix() + ", model=" + model + ", storeDir=" + storeDir
        + ", holdoutShare=" + holdoutShare + ", partitions=" + partitions + ", replication=" + replication
        + ", processingGuarantee=" + processingGuarantee + ", kafkaSettings=" + kafkaSettings.keySet() + ", httpToken="
        + (httpToken == null ? "none" : "(set)") + ", httpTls=" + (httpTls == null ? "none" : httpTls.keystore()) + ", instanceId=" + instanceId + "]";
  }
}
