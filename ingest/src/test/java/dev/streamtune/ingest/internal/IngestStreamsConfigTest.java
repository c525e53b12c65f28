package dev.streamtune.ingest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.kafka.StreamsErrorHandlers;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.testing.FakeErrorHandlerContext;
import dev.streamtune.core.testing.TestData;
import dev.streamtune.ingest.IngestConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.junit.jupiter.api.Test;

class IngestStreamsConfigTest {
  private static final byte[] KEY = "k-1".getBytes(StandardCharsets.UTF_8);
  private static final byte[] VALUE = "v".getBytes(StandardCharsets.UTF_8);
  private final IngestConfig cfg = IngestConfig.from(Settings.of(Map.of(CommonConfig.STORE_DIR,
      TestData.tempDir("store").toString(), IngestConfig.STATE_DIR, TestData.tempDir("state").toString())));
  private final Topics topics = cfg.common().topics();
  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final Properties props = IngestStreamsConfig.properties(cfg, new IngestMetrics(registry, topics));

  @Test
  void shouldRunCoresErrorHandlersWithRecordsRejectedAsTheDeadLetterTopic() {
    assertThat(props).containsEntry(StreamsConfig.APPLICATION_ID_CONFIG, cfg.applicationId())
        .containsEntry(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, StreamsErrorHandlers.Deserialization.class)
        .containsEntry(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, StreamsErrorHandlers.Processing.class)
        .containsEntry(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, StreamsErrorHandlers.Production.class)
        .containsEntry(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, topics.recordsRejected.name());
  }

  @Test
  void shouldProcessExactlyOnceUnlessToldOtherwise() {
    assertThat(props).containsEntry(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
    IngestConfig alos = IngestConfig.from(Settings.of(Map.of(CommonConfig.STORE_DIR, TestData.tempDir("store").toString(),
        IngestConfig.STATE_DIR, TestData.tempDir("state").toString(), CommonConfig.GUARANTEE, "at_least_once")));
    assertThat(IngestStreamsConfig.properties(alos, new IngestMetrics(new SimpleMeterRegistry(), topics)))
        .containsEntry(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.AT_LEAST_ONCE);
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> CommonConfig.from(Settings.of(Map.of(CommonConfig.GUARANTEE,
        "exactly_once")))).hasMessageContaining(CommonConfig.GUARANTEE).hasMessageContaining("exactly_once_v2 or at_least_once");
  }

  @Test
  void shouldCountAStreamErrorUnderTheIngestNameAndTheSharedName() {
    StreamsErrorHandlers.Deserialization deserialization = new StreamsErrorHandlers.Deserialization();
    deserialization.configure(configs());
    StreamsErrorHandlers.Production production = new StreamsErrorHandlers.Production();
    production.configure(configs());
    FakeErrorHandlerContext ctx = new FakeErrorHandlerContext(topics.feedback.name(), 0, 7, new RecordHeaders(), "check-feedback",
        KEY, VALUE);

    DeserializationExceptionHandler.Response r = deserialization.handleError(ctx,
        new ConsumerRecord<>(topics.feedback.name(), 0, 7L, KEY, VALUE), new IllegalArgumentException("bad bytes"));
    production.handleError(ctx, new ProducerRecord<>(topics.samples.name(), KEY, VALUE), new RecordTooLargeException("big"));

    assertThat(r.deadLetterQueueRecords()).singleElement().satisfies(d -> assertThat(d.topic())
        .isEqualTo(topics.recordsRejected.name()));
    assertThat(registry.get(StreamsErrorHandlers.ERRORS_METER).tag("service", "ingest").tag("kind", "deserialization").counter().count())
        .isEqualTo(1);
    assertThat(registry.get(StreamsErrorHandlers.ERRORS_METER).tag("service", "ingest").tag("kind", "production").counter().count())
        .isEqualTo(1);
    assertThat(registry.get(StreamsErrorHandlers.ERRORS_METER).tag("service", "ingest").tag("kind", "processing").counter().count()).isZero();
    assertThat(registry.get("streamtune.stream.errors").tag("service", "ingest").tag("kind", "deserialization").counter()
        .count()).isEqualTo(1);
    assertThat(registry.get("streamtune.records.rejected").tag("topic", topics.feedback.name()).counter().count()).isEqualTo(2);
  }

  private Map<String, Object> configs() {
    Map<String, Object> m = new HashMap<>();
    props.forEach((k, v) -> m.put(k.toString(), v));
    return m;
  }
}
