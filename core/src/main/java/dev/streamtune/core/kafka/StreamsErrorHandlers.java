package dev.streamtune.core.kafka;

import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.Configurable;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
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
 * Kafka Streams error handlers shared by every StreamTune Streams app. A record that cannot be deserialized, processed or written
 * is never retried forever and never lost silently: it is logged in one line, counted, and its source record goes to the
 * dead-letter topic ({@code records.rejected}, set as {@link StreamsConfig#ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG}) with
 * {@code st-reject-reason} and {@code st-reject-topic}; then the stream goes on. Only a production error that no record can fix
 * (authorization, a fenced producer, ...) fails the stream, and a retriable one is retried.
 *
 * <p>Meters, on the {@link MeterRegistry} that arrives in the Streams config under {@link #REGISTRY_CONFIG}:
 * <ul>
 *   <li>{@code streamtune.stream.errors{service,kind}}: {@code kind} is {@link #DESERIALIZATION}, {@link #PROCESSING} or
 *       {@link #PRODUCTION}; {@code service} comes from {@link #SERVICE_CONFIG}
 *   <li>{@code streamtune.records.rejected{topic}}: the source topic of the record (a catalogue or internal topic, so bounded)
 * </ul>
 * Without a registry the handlers still log and dead-letter; a metrics failure is never fatal to the work.
 *
 * <p>Wire them with {@link #addTo}. The handlers are created and configured by Kafka Streams, one per stream task or thread;
 * each is thread-confined, and the registry they share is thread-safe.
 */
public final class StreamsErrorHandlers {
  /** Streams config key holding the {@link MeterRegistry} the handlers count on. */
  public static final String REGISTRY_CONFIG = "streamtune.errors.registry";
  /** Streams config key holding the service name, the {@code service} tag of {@code streamtune.stream.errors}. */
  public static final String SERVICE_CONFIG = "streamtune.errors.service";
  /** The name of the error counter. */
  public static final String ERRORS_METER = "streamtune.stream.errors";
  /** The {@code kind} tags of {@link #ERRORS_METER}. */
  public static final String DESERIALIZATION = "deserialization";
  public static final String PROCESSING = "processing";
  public static final String PRODUCTION = "production";
  /** Every {@code kind} tag, in a fixed order. */
  public static final List<String> KINDS = List.of(DESERIALIZATION, PROCESSING, PRODUCTION);

  private static final Logger log = LoggerFactory.getLogger(StreamsErrorHandlers.class);

  private StreamsErrorHandlers() {}

  /**
   * Puts the three handlers, the dead-letter topic, the registry and the service name into Streams properties, enables the
   * processing handler for global stores too, and registers {@code streamtune.stream.errors{service,kind}} at zero so that
   * dashboards see the series before the first error.
   *
   * @param props the Streams properties to add to; changed in place and returned
   * @param service the {@code service} tag, e.g. {@code ingest}
   * @param deadLetter where unusable source records go, normally {@code topics.recordsRejected}
   * @param registry where the handlers count
   * @return {@code props}
   */
  public static Properties addTo(Properties props, String service, Topic<?, ?> deadLetter, MeterRegistry registry) {
    Objects.requireNonNull(props, "props");
    Objects.requireNonNull(deadLetter, "deadLetter");
    Objects.requireNonNull(registry, "registry");
    if (service == null || service.isBlank()) {
      throw new IllegalArgumentException("service must be a non-blank name, was '" + service + "'");
    }
    props.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, Deserialization.class);
    props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, Processing.class);
    props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_GLOBAL_ENABLED_CONFIG, true);
    props.put(StreamsConfig.PRODUCTION_EXCEPTION_HANDLER_CLASS_CONFIG, Production.class);
    props.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, deadLetter.name());
    props.put(REGISTRY_CONFIG, registry);
    props.put(SERVICE_CONFIG, service);
    for (String kind : KINDS) {
      registry.counter(ERRORS_METER, "service", service, "kind", kind);
    }
    return props;
  }

  abstract static class Base implements Configurable {
    private MeterRegistry registry;
    private String service;
    private String deadLetterTopic;
    /** The Streams application id ({@link Topics#HEADER_REJECT_BY}), or the service when the configs have none. */
    private String by;

    @Override
    public void configure(Map<String, ?> configs) {
      Object r = configs.get(REGISTRY_CONFIG);
      registry = r instanceof MeterRegistry m ? m : null;
      Object s = configs.get(SERVICE_CONFIG);
      service = s == null ? "unknown" : s.toString();
      Object d = configs.get(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG);
      deadLetterTopic = d == null ? null : d.toString();
      Object a = configs.get(StreamsConfig.APPLICATION_ID_CONFIG);
      by = a == null ? service : a.toString();
    }

    void count(String kind, ErrorHandlerContext ctx) {
      if (registry == null) {
        return;
      }
      try {
        registry.counter(ERRORS_METER, "service", service, "kind", kind).increment();
        if (ctx.topic() != null) {
          registry.counter(RejectedRecords.REJECTED, "topic", ctx.topic()).increment();
        }
      } catch (RuntimeException e) {
        log.warn("could not count a stream error of kind {}: {}", kind, e.toString());
      }
    }

    /** The source record, as read, for the dead-letter topic with the reason and origin in headers; empty without a topic. */
    List<ProducerRecord<byte[], byte[]>> deadLetter(ErrorHandlerContext ctx, byte[] key, byte[] value, String reason) {
      if (deadLetterTopic == null) {
        return List.of();
      }
      RecordHeaders headers = new RecordHeaders();
      RejectHeaders.copyOthers(ctx.headers(), headers);
      RejectHeaders.add(headers, reason, where(ctx), by);
      return List.of(new ProducerRecord<>(deadLetterTopic, null, key, value, headers));
    }

    static String where(ErrorHandlerContext ctx) {
      return RejectHeaders.origin(ctx.topic(), ctx.partition(), ctx.offset());
    }
  }

  /** A source record whose key or value cannot be deserialized. */
  public static final class Deserialization extends Base implements DeserializationExceptionHandler {
    @Override
    public DeserializationExceptionHandler.Response handleError(ErrorHandlerContext ctx, ConsumerRecord<byte[], byte[]> record,
        Exception e) {
      log.warn("cannot deserialize record {} (task {}): {}; sent to the dead-letter topic", where(ctx), ctx.taskId(), e.toString());
      count(DESERIALIZATION, ctx);
      return DeserializationExceptionHandler.Response.resume(
          deadLetter(ctx, record.key(), record.value(), "cannot deserialize: " + e.getMessage()));
    }
  }

  /** An exception thrown while processing a record: a bug, so logged with its stack trace, but one record does not stop the app. */
  public static final class Processing extends Base implements ProcessingExceptionHandler {
    @Override
    public ProcessingExceptionHandler.Response handleError(ErrorHandlerContext ctx, Record<?, ?> record, Exception e) {
      log.error("processing record {} failed in node {}; sent to the dead-letter topic", where(ctx), ctx.processorNodeId(), e);
      count(PROCESSING, ctx);
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
        count(PRODUCTION, ctx);
        return ProductionExceptionHandler.Response.resume(deadLetter(ctx, sourceOr(ctx.sourceRawKey(), record.key()),
            sourceOr(ctx.sourceRawValue(), record.value()), "cannot write to " + record.topic() + ": " + e.getMessage()
                + (ctx.sourceRawValue() == null ? " (the source record was not at hand: this is the record that was written)"
                : "")));
      }
      log.error("cannot write to {} (from {}): {}; stopping the stream", record.topic(), where(ctx), e.toString());
      count(PRODUCTION, ctx);
      return ProductionExceptionHandler.Response.fail();
    }

    /** The source record's bytes, or the written record's when Streams does not have the source (never null for data). */
    private static byte[] sourceOr(byte[] source, byte[] written) {
      return source != null ? source : written;
    }

    @Override
    @SuppressWarnings("rawtypes")
    public ProductionExceptionHandler.Response handleSerializationError(ErrorHandlerContext ctx, ProducerRecord record,
        Exception e, SerializationExceptionOrigin origin) {
      log.warn("cannot serialize the {} of a record for {} (from {}): {}; its source record goes to the dead-letter topic",
          origin.name().toLowerCase(Locale.ROOT), record.topic(), where(ctx), e.toString());
      count(PRODUCTION, ctx);
      return ProductionExceptionHandler.Response.resume(
          deadLetter(ctx, ctx.sourceRawKey(), ctx.sourceRawValue(), "cannot serialize for " + record.topic() + ": " + e.getMessage()));
    }
  }
}
