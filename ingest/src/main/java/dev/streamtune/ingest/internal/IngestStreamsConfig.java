package dev.streamtune.ingest.internal;

import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.StreamsErrorHandlers;
import dev.streamtune.ingest.IngestConfig;
import java.util.Properties;

/** The Kafka Streams properties of the ingest app, shared by the service and the topology tests so both run the same handlers. */
public final class IngestStreamsConfig {
  /** The {@code service} tag of the ingest app's {@code streamtune.stream.errors}. */
  public static final String SERVICE = "ingest";

  private IngestStreamsConfig() {}

  /** Streams properties for {@code cfg}; core's error handlers count on the registry of {@code metrics}. */
  public static Properties properties(IngestConfig cfg, IngestMetrics metrics) {
    Properties p = KafkaSupport.streamsProps(cfg.common(), cfg.applicationId(), cfg.stateDir());
    return StreamsErrorHandlers.addTo(p, SERVICE, cfg.common().topics().recordsRejected, metrics.registry());
  }
}
