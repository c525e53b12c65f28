package dev.streamtune.ingest.internal;

import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.StreamsErrorHandlers;
import dev.streamtune.ingest.IngestConfig;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.streams.StreamsConfig;

/** The Kafka Streams properties of the ingest app, shared by the service and the topology tests so both run the same handlers. */
public final class IngestStreamsConfig {
  /** The {@code service} tag of the ingest app's {@code streamtune.stream.errors}. */
  public static final String SERVICE = "ingest";

  private IngestStreamsConfig() {}

  /** Streams properties for {@code cfg}; core's error handlers count on the registry of {@code metrics}. */
  public static Properties properties(IngestConfig cfg, IngestMetrics metrics) {
    Properties p = KafkaSupport.streamsProps(cfg.common(), cfg.applicationId(), cfg.stateDir());
    // a validated sample is about a kilobyte (the image in base64 and its labels): batches of 256 KiB sent after 5 ms carry
    // 30-50 % more samples per second than the producer's 16 KiB (bench ingest), unless the user set their own
    Map<String, String> client = cfg.common().kafkaSettings();
    if (!client.containsKey(ProducerConfig.BATCH_SIZE_CONFIG)) {
      p.put(StreamsConfig.producerPrefix(ProducerConfig.BATCH_SIZE_CONFIG), 256 * 1024);
    }
    if (!client.containsKey(ProducerConfig.LINGER_MS_CONFIG)) {
      p.put(StreamsConfig.producerPrefix(ProducerConfig.LINGER_MS_CONFIG), 5);
    }
    return StreamsErrorHandlers.addTo(p, SERVICE, cfg.common().topics().recordsRejected, metrics.registry());
  }
}
