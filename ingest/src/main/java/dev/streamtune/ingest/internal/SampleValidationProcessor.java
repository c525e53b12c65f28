package dev.streamtune.ingest.internal;

import dev.streamtune.core.kafka.RejectHeaders;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.records.Sample;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Validates a {@code samples.raw} record (key = sample id, value = image, label/domain/source in headers) with the shared
 * {@link SampleValidator}. Forwards an accepted {@link Sample} without the raw headers, or the original value with the original
 * headers plus {@code st-reject-reason}; counts both. Never throws for a bad record.
 */
public final class SampleValidationProcessor implements FixedKeyProcessor<String, byte[], Routed<Sample>> {
  private static final Logger log = LoggerFactory.getLogger(SampleValidationProcessor.class);
  private final SampleValidator validator;
  private final IngestMetrics metrics;
  private FixedKeyProcessorContext<String, Routed<Sample>> context;

  public SampleValidationProcessor(SampleValidator validator, IngestMetrics metrics) {
    this.validator = validator;
    this.metrics = metrics;
  }

  @Override
  public void init(FixedKeyProcessorContext<String, Routed<Sample>> context) {
    this.context = context;
  }

  @Override
  public void process(FixedKeyRecord<String, byte[]> record) {
    Headers h = record.headers();
    Verdict<Sample> verdict = validator.validate(record.key(), record.value(), header(h, Topics.HEADER_LABEL),
        header(h, Topics.HEADER_DOMAIN), header(h, Topics.HEADER_SOURCE),
        Instant.ofEpochMilli(record.timestamp()));
    if (verdict instanceof Verdict.Accepted<Sample> a) {
      metrics.sampleAccepted(a.value().source());
      context.forward(record.withValue(Routed.accept(a.value())).withHeaders(new RecordHeaders()));
    } else {
      Verdict.Rejected<Sample> r = (Verdict.Rejected<Sample>) verdict;
      metrics.sampleRejected(r.reason());
      // per record: DEBUG (a flood of bad samples must not flood the log); counted, and on samples.rejected with its reason
      log.debug("rejected sample '{}' from {}: {}", record.key(), RejectHeaders.origin(context.recordMetadata()), r.message());
      context.forward(record.withValue(Routed.<Sample>reject(record.value()))
          .withHeaders(RejectHeaders.of(h, r.message(), context.applicationId(), context.recordMetadata())));
    }
  }

  /** The last value of a header as trimmed UTF-8, or null. */
  private static String header(Headers headers, String name) {
    Header h = headers == null ? null : headers.lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8).trim();
  }
}
