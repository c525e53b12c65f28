package dev.streamtune.ingest.internal;

import dev.streamtune.core.kafka.RejectHeaders;
import dev.streamtune.core.records.Feedback;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a {@code feedback} record (key = prediction id, value = JSON bytes) with the shared {@link FeedbackValidator}: forwards
 * the parsed {@link Feedback} with its label mapped to the name, or the original bytes with {@code st-reject-reason} for
 * {@code records.rejected}. One bad record never stops the stream. Keeps the key, so the join needs no repartition.
 */
public final class FeedbackProcessor implements FixedKeyProcessor<String, byte[], Routed<Feedback>> {
  private static final Logger log = LoggerFactory.getLogger(FeedbackProcessor.class);
  private final FeedbackValidator validator;
  private final IngestMetrics metrics;
  private FixedKeyProcessorContext<String, Routed<Feedback>> context;

  public FeedbackProcessor(FeedbackValidator validator, IngestMetrics metrics) {
    this.validator = validator;
    this.metrics = metrics;
  }

  @Override
  public void init(FixedKeyProcessorContext<String, Routed<Feedback>> context) {
    this.context = context;
  }

  @Override
  public void process(FixedKeyRecord<String, byte[]> record) {
    Verdict<Feedback> verdict = validator.validateRecord(record.key(), record.value());
    if (verdict instanceof Verdict.Accepted<Feedback> a) {
      context.forward(record.withValue(Routed.accept(a.value())));
    } else {
      Verdict.Rejected<Feedback> r = (Verdict.Rejected<Feedback>) verdict;
      metrics.feedbackRejected(r.reason());
      log.warn("rejected feedback record {} (key '{}'): {}", RejectHeaders.origin(context.recordMetadata()), record.key(),
          r.message());
      context.forward(record.withValue(Routed.<Feedback>reject(record.value()))
          .withHeaders(RejectHeaders.of(record.headers(), r.message(), context.recordMetadata())));
    }
  }
}
