package dev.streamtune.evaluator.internal;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.kafka.RejectHeaders;
import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.kafka.TopicReader;
import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Parses JSON record values in a topology; a record that cannot be read is passed on as {@link Parsed#bad} with an
 * {@code st-reject-reason} header, logged once and counted, so it can be routed to {@code records.rejected}: a poison record
 * never stops the application. Built with {@code skipFor}, the topic's rejecter when that is another reader (ingest for {@code
 * feedback}), it forwards nothing for such a record: it logs and counts it as skipped, and the rejecter rejects it.
 */
public final class ParseOrReject<V> implements FixedKeyProcessor<String, byte[], ParseOrReject.Parsed<V>> {
  private static final Logger log = LoggerFactory.getLogger(ParseOrReject.class);

  /** A parsed value, or the raw bytes of one that could not be read. */
  public record Parsed<V>(V value, byte[] raw) {
    static <V> Parsed<V> bad(byte[] raw) {
      return new Parsed<>(null, raw == null ? new byte[0] : raw);
    }

    public boolean ok() {
      return value != null;
    }
  }

  private final Class<V> type;
  private final MeterRegistry registry;
  private final java.util.function.BiFunction<String, V, java.util.Optional<String>> check;
  private final TopicReader skipFor;
  private FixedKeyProcessorContext<String, Parsed<V>> context;

  public ParseOrReject(Class<V> type, MeterRegistry registry) {
    this(type, registry, (key, value) -> java.util.Optional.empty(), null);
  }

  /**
   * @param check why a readable record (key, value) still cannot be used, e.g. {@code FeedbackRule.check}; empty when it can
   * @param skipFor the topic's rejecter when another reader rejects its unreadable records; null when this one does
   */
  public ParseOrReject(Class<V> type, MeterRegistry registry,
      java.util.function.BiFunction<String, V, java.util.Optional<String>> check, TopicReader skipFor) {
    this.type = type;
    this.registry = registry;
    this.check = check;
    this.skipFor = skipFor;
  }

  @Override
  public void init(FixedKeyProcessorContext<String, Parsed<V>> context) {
    this.context = context;
  }

  @Override
  public void process(FixedKeyRecord<String, byte[]> record) {
    try {
      V value = Json.fromBytes(record.value(), type);
      java.util.Optional<String> problem = check.apply(record.key(), value);
      if (problem.isPresent()) {
        throw new RecordFormatException(problem.get());
      }
      context.forward(record.withValue(new Parsed<>(value, null)));
    } catch (RecordFormatException e) {
      String topic = context.recordMetadata().map(m -> m.topic()).orElse("unknown");
      if (skipFor != null) {
        RejectedRecords.skipped(registry, topic, skipFor, RejectHeaders.origin(context.recordMetadata()), e.getMessage());
        return;
      }
      log.warn("rejected {} {}: {}", type.getSimpleName(), RejectHeaders.origin(context.recordMetadata()), e.getMessage());
      registry.counter(RejectedRecords.REJECTED, "topic", topic).increment();
      context.forward(record.withValue(Parsed.<V>bad(record.value()))
          .withHeaders(RejectHeaders.of(record.headers(), e.getMessage(), context.applicationId(), context.recordMetadata())));
    }
  }
}
