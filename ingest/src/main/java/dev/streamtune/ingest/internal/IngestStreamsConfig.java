package dev.streamtune.ingest.internal;

import dev.streamtune.ingest.IngestConfig;
import java.util.Properties;
import org.apache.kafka.streams.StreamsConfig;

/** The Kafka Streams properties of the ingest app, shared by the service and the topology tests so both run the same handlers. */
public final class IngestStreamsConfig {
  private IngestStreamsConfig() {}

  /** Streams properties for {@code cfg}; the error handlers count on {@code metrics}. */
  public static Properties properties(IngestConfig cfg, IngestMetrics metrics) {
    Properties p = new Properties();
    p.put(StreamsConfig.APPLICATION_ID_CONFIG, cfg.applicationId());
    p.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, cfg.common().bootstrap());
    p.put(StreamsConfig.STATE_DIR_CONFIG, cfg.stateDir().toAbsolutePath().toString());
    p.put(StreamsConfig.REPLICATION_FACTOR_CONFIG, (int) cfg.common().replication());
    p.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, StreamsErrorHandlers.Deserialization.class);
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, StreamsErrorHandlers.Processing.class);
    p.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
    p.put(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, StreamsErrorHandlers.Production.class);
    p.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, cfg.common().topics().recordsRejected.name());
    p.put(StreamsErrorHandlers.METRICS_CONFIG, metrics);
    return p;
  }
}
