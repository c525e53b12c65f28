package dev.streamtune.ingest.internal;

import dev.streamtune.core.kafka.Topics;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Configurable;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.errors.ProductionExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Kafka Streams error handlers of the ingest app. A record that cannot be deserialized, processed or written is never retried
 * forever and never lost silently: it is logged in one line, counted ({@code streamtune.ingest.stream.errors{kind}} and
 * {@code streamtune.records.rejected{topic}}), and its source record goes to the dead-letter topic ({@code records.rejected},
 * set as {@link StreamsConfig#ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG}) with {@code st-reject-reason}; then the stream goes on.
 * Only a production error that no record can fix (authorization, a fenced producer, ...) fails the stream, and a retriable one
 * is retried.
 *
 * <p>The {@link IngestMetrics} instance arrives in the Streams config under {@link #METRICS_CONFIG}.
 */
public final class StreamsErrorHandlers {
  /** Streams config key holding the {@link IngestMetrics} object the handlers count on. */
  public static final String METRICS_CONFIG = "streamtune.ingest.metrics";
  private static final Logger log = LoggerFactory.getLogger(StreamsErrorHandlers.class);

  private StreamsErrorHandlers() {}

  abstract static class Base implements Configurable {
    private IngestMetrics metrics;
    private String deadLetterTopic;

    @Override
    public void configure(Map<String, ?> configs) {
      Object m = configs.get(METRICS_CONFIG);
      metrics = m instanceof IngestMetrics im ? im : null;
      Object d = configs.get(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG);
      deadLetterTopic = d == null ? null : d.toString();
    }

    void count(String kind, ErrorHandlerContext ctx) {
      if (metrics != null) {
        metrics.streamError(kind, ctx.topic());
      }
    }

    /** The source record, as read, for the dead-letter topic with the reason and origin in headers; empty without a topic. */
    List<ProducerRecord<byte[], byte[]>> deadLetter(ErrorHandlerContext ctx, byte[] key, byte[] value, String reason) {
      if (deadLetterTopic == null) {
        return List.of();
      }
      RecordHeaders headers = new RecordHeaders();
      if (ctx.headers() != null) {
        for (Header h : ctx.headers()) {
          if (!h.key().equals(Topics.HEADER_REJECT_REASON) && !h.key().equals(Topics.HEADER_REJECT_TOPIC)) {
            headers.add(h);
          }
        }
      }
      headers.add(Topics.HEADER_REJECT_REASON, reason.getBytes(StandardCharsets.UTF_8));
      headers.add(Topics.HEADER_REJECT_TOPIC, where(ctx).getBytes(StandardCharsets.UTF_8));
      return List.of(new ProducerRecord<>(deadLetterTopic, null, key, value, headers));
    }

    static String where(ErrorHandlerContext ctx) {
      return ctx.topic() + "-" + ctx.partition() + "@" + ctx.offset();
    }
  }

  /** A source record whose key or value cannot be deserialized. */
  public static final class Deserialization extends Base implements DeserializationExceptionHandler {
    @Override
    public DeserializationExceptionHandler.Response handleError(ErrorHandlerContext ctx, ConsumerRecord<byte[], byte[]> record,
        Exception e) {
      log.warn("cannot deserialize record {} (task {}): {}; sent to the dead-letter topic", where(ctx), ctx.taskId(), e.toString());
      count(IngestMetrics.DESERIALIZATION, ctx);
      return DeserializationExceptionHandler.Response.resume(
          deadLetter(ctx, record.key(), record.value(), "cannot deserialize: " + e.getMessage()));
    }
  }

  /** An exception thrown while processing a record: a bug, so logged with its stack trace, but one record does not stop ingest. */
  public static final class Processing extends Base implements ProcessingExceptionHandler {
    @Override
    public ProcessingExceptionHandler.Response handleError(ErrorHandlerContext ctx, Record<?, ?> record, Exception e) {
      log.error("processing record {} failed in node {}; sent to the dead-letter topic", where(ctx), ctx.processorNodeId(), e);
      count(IngestMetrics.PROCESSING, ctx);
      return ProcessingExceptionHandler.Response.resume(
          deadLetter(ctx, ctx.sourceRawKey(), ctx.sourceRawValue(), "processing failed: " + e));
    }
  }

  /** A record that cannot be serialized or that the broker refuses. */
  public static final class Production extends Base implements ProductionExceptionHandler {
    @Override
    public ProductionExceptionHandler.Response handleError(ErrorHandlerContext ctx, ProducerRecord<byte[], byte[]> record,
        Exception e) {
      if (e instanceof RetriableException) {
        return ProductionExceptionHandler.Response.retry();
      }
      if (e instanceof RecordTooLargeException || e instanceof InvalidRecordException) {
        log.warn("cannot write a record to {} (from {}): {}; its source record goes to the dead-letter topic", record.topic(),
            where(ctx), e.toString());
        count(IngestMetrics.PRODUCTION, ctx);
        return ProductionExceptionHandler.Response.resume(
            deadLetter(ctx, ctx.sourceRawKey(), ctx.sourceRawValue(), "cannot write to " + record.topic() + ": " + e.getMessage()));
      }
      log.error("cannot write to {} (from {}): {}; stopping the stream", record.topic(), where(ctx), e.toString());
      count(IngestMetrics.PRODUCTION, ctx);
      return ProductionExceptionHandler.Response.fail();
    }

    @Override
    @SuppressWarnings("rawtypes")
    public ProductionExceptionHandler.Response handleSerializationError(ErrorHandlerContext ctx, ProducerRecord record,
        Exception e, SerializationExceptionOrigin origin) {
      log.warn("cannot serialize the {} of a record for {} (from {}): {}; its source record goes to the dead-letter topic",
          origin.name().toLowerCase(java.util.Locale.ROOT), record.topic(), where(ctx), e.toString());
      count(IngestMetrics.PRODUCTION, ctx);
      return ProductionExceptionHandler.Response.resume(
          deadLetter(ctx, ctx.sourceRawKey(), ctx.sourceRawValue(), "cannot serialize for " + record.topic() + ": " + e.getMessage()));
    }
  }
}
