package dev.streamtune.core.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.testing.TestData;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;
import org.junit.jupiter.api.Test;

/** streamtune.kafka.* settings reach every kind of client a service makes, and cannot change who a client is. */
class KafkaClientsTest {
  private static final Map<String, String> SECURE = Map.of("streamtune.bootstrap", "broker-1:9093",
      "streamtune.kafka.security.protocol", "SASL_SSL", "streamtune.kafka.sasl.mechanism", "SCRAM-SHA-512",
      "streamtune.kafka.sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\"st\" "
          + "password=\"pw\";", "streamtune.kafka.linger.ms", "20");

  @Test
  void shouldPassClientSettingsToProducersConsumersAndStreamsApps() {
    CommonConfig common = CommonConfig.from(Settings.of(SECURE));
    KafkaClients kafka = common.kafka();

    Properties producer = KafkaSupport.producerProps(kafka, "p-1", Map.of());
    Properties consumer = KafkaSupport.rawConsumerProps(kafka, "c-1", "g-1", Map.of());
    Properties streams = KafkaSupport.streamsProps(common, "app-1", TestData.tempDir("state"));
    for (Properties p : new Properties[] {producer, consumer, streams}) {
      assertThat(p).containsEntry("security.protocol", "SASL_SSL").containsEntry("sasl.mechanism", "SCRAM-SHA-512")
          .containsKey("sasl.jaas.config").containsEntry("bootstrap.servers", "broker-1:9093");
    }
    assertThat(producer).as("a default tuned").containsEntry("linger.ms", "20").containsEntry("client.id", "p-1")
        .containsEntry("acks", "all");
    assertThat(consumer).containsEntry("group.id", "g-1").containsEntry("isolation.level", "read_committed");
    assertThat(streams).containsEntry(StreamsConfig.APPLICATION_ID_CONFIG, "app-1");
    assertThat(kafka.toString()).as("no secret in a log line").doesNotContain("pw");
    assertThat(common.toString()).doesNotContain("pw");
  }

  @Test
  void shouldRefuseASettingThatWouldChangeWhoAClientIs() {
    assertThatThrownBy(() -> CommonConfig.from(Settings.of(Map.of("streamtune.kafka.bootstrap.servers", "elsewhere:9092"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.kafka.bootstrap.servers")
        .hasMessageContaining("use streamtune.bootstrap");
    assertThatThrownBy(() -> CommonConfig.from(Settings.of(Map.of("streamtune.kafka.group.id", "x"))))
        .isInstanceOf(ConfigException.class).hasMessageContaining("streamtune.kafka.group.id");
  }
}
