package dev.streamtune.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.ServiceState;
import dev.streamtune.core.broker.EmbeddedKafkaBroker;
import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.records.Sample;
import dev.streamtune.core.testing.TestData;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ExecutionException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;

/**
 * Ingest on a shared cluster's terms: the broker takes SCRAM logins on a SASL listener and authorises every request by ACLs;
 * the service reaches it through {@code streamtune.kafka.*} settings only (its HTTP producer, its exactly-once Streams app and
 * its admin client alike) and guards its HTTP writes with a bearer token. A user without ACLs and a wrong password are
 * refused by the broker.
 */
class SecureClusterIT {
  private static final String USER = "streamtune";
  private static final String PASSWORD = "st-secret-1";
  private static final String TOKEN = "ingest-token-0123456789";

  @Test
  void shouldIngestOverSaslScramWithAclsAndABearerToken() throws Exception {
    try (EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.builder().port(0).dataDir(null).scramUser(USER, PASSWORD)
        .scramUser("mallory", "m-secret-1").build().start()) {
      allowEverything(broker.bootstrapServers(), USER);
      Map<String, String> s = new HashMap<>(clientSettings(broker.saslBootstrapServers(), USER, PASSWORD));
      s.put(CommonConfig.STORE_DIR, TestData.tempDir("store").toString());
      s.put(IngestConfig.STATE_DIR, TestData.tempDir("state").toString());
      s.put(IngestConfig.PORT, "0");
      s.put(IngestConfig.APPLICATION_ID, "ingest-secure-it");
      s.put(CommonConfig.HTTP_TOKEN, TOKEN);
      Topics topics = Topics.withDefaultPrefix();
      byte[] png = Images.toPng(TestData.test().images()[3], 28, 28);
      try (IngestService ingest = new IngestService(IngestConfig.from(Settings.of(s)))) {
        ingest.start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (ingest.state() != ServiceState.RUNNING && System.nanoTime() < deadline) {
          Thread.sleep(100);
        }
        assertThat(ingest.state()).isEqualTo(ServiceState.RUNNING);

        URI samples = URI.create("http://localhost:" + ingest.port() + "/samples?label=Coat&id=secure-1");
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> noToken = http.send(HttpRequest.newBuilder(samples).POST(HttpRequest.BodyPublishers.ofByteArray(
            png)).build(), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> ok = http.send(HttpRequest.newBuilder(samples).header("Authorization", "Bearer " + TOKEN)
            .header("Content-Type", "image/png").POST(HttpRequest.BodyPublishers.ofByteArray(png)).build(),
            HttpResponse.BodyHandlers.ofString());

        assertThat(noToken.statusCode()).isEqualTo(401);
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(202);
        // read back as the authorised user, through the same pass-through settings
        KafkaClients kafka = CommonConfig.from(Settings.of(clientSettings(broker.saslBootstrapServers(), USER, PASSWORD))).kafka();
        try (KafkaConsumer<String, byte[]> reader = KafkaSupport.rawConsumer(kafka, "secure-reader", null)) {
          TopicPartition p = new TopicPartition(topics.samples.name(), 0);
          reader.assign(List.of(p));
          reader.seekToBeginning(List.of(p));
          Sample sample = null;
          long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
          while (sample == null && System.nanoTime() < until) {
            for (ConsumerRecord<String, byte[]> r : reader.poll(Duration.ofMillis(200))) {
              sample = Json.fromBytes(r.value(), Sample.class);
            }
          }
          assertThat(sample).as("the sample went through the Streams app over SASL").isNotNull();
          assertThat(sample.id()).isEqualTo("secure-1");
          assertThat(sample.image()).isEqualTo(png);
        }
      }

      // ACLs are enforced: mallory logs in but may not write; a wrong password does not log in
      assertThat(refusal(broker.saslBootstrapServers(), "mallory", "m-secret-1", topics))
          .isInstanceOf(TopicAuthorizationException.class);
      assertThat(refusal(broker.saslBootstrapServers(), USER, "wrong-password", topics))
          .isInstanceOf(SaslAuthenticationException.class);
    }
  }

  private static Map<String, String> clientSettings(String bootstrap, String user, String password) {
    return Map.of(CommonConfig.BOOTSTRAP, bootstrap, "streamtune.kafka.security.protocol", "SASL_PLAINTEXT",
        "streamtune.kafka.sasl.mechanism", EmbeddedKafkaBroker.SCRAM_MECHANISM, "streamtune.kafka.sasl.jaas.config",
        "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"" + user + "\" password=\"" + password
            + "\";");
  }

  /** ACLs for a user, written as the plaintext listener's super user: every topic, group and transactional id, the cluster. */
  private static void allowEverything(String plaintext, String user) throws Exception {
    Properties p = new Properties();
    p.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, plaintext);
    try (Admin admin = Admin.create(p)) {
      AccessControlEntry all = new AccessControlEntry("User:" + user, "*", AclOperation.ALL, AclPermissionType.ALLOW);
      admin.createAcls(List.of(
          new AclBinding(new ResourcePattern(ResourceType.TOPIC, "*", PatternType.LITERAL), all),
          new AclBinding(new ResourcePattern(ResourceType.GROUP, "*", PatternType.LITERAL), all),
          new AclBinding(new ResourcePattern(ResourceType.TRANSACTIONAL_ID, "*", PatternType.LITERAL), all),
          new AclBinding(new ResourcePattern(ResourceType.CLUSTER, "kafka-cluster", PatternType.LITERAL), all))).all().get();
    }
  }

  /** What the broker answers a write of this user to samples.raw. */
  private static Throwable refusal(String sasl, String user, String password, Topics topics) throws InterruptedException {
    KafkaClients kafka = CommonConfig.from(Settings.of(clientSettings(sasl, user, password))).kafka();
    try (KafkaProducer<String, byte[]> p = KafkaSupport.producer(kafka, "secure-" + user, topics.samplesRaw,
        Map.of("max.block.ms", 15_000, "delivery.timeout.ms", 15_000, "request.timeout.ms", 10_000))) {
      p.send(new ProducerRecord<>(topics.samplesRaw.name(), "x", new byte[] {1})).get();
      return null;
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (org.apache.kafka.common.KafkaException e) {
      return e.getCause() != null && !(e instanceof org.apache.kafka.common.errors.ApiException) ? e.getCause() : e;
    }
  }
}
