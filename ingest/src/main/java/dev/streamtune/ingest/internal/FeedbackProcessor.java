package dev.streamtune.ingest.internal;

import dev.streamtune.core.kafka.FeedbackLedger;
import dev.streamtune.core.kafka.RejectHeaders;
import dev.streamtune.core.records.Feedback;
import java.time.Duration;
import java.time.Instant;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads a {@code feedback} record (key = prediction id, value = JSON bytes) with the shared {@link FeedbackValidator}: forwards
 * the parsed {@link Feedback} with its label mapped to the name, or the original bytes with {@code st-reject-reason} for
 * {@code records.rejected}. One bad record never stops the stream. Keeps the key, so the join needs no repartition.
 *
 * <p>A label counts once per prediction ({@link FeedbackLedger}): the same label again (a client resending a request whose
 * answer it lost) is counted as repeated and not joined again; another label for a prediction already labelled is rejected with
 * reason {@code relabelled}, naming the label that counts.
 */
public final class FeedbackProcessor implements FixedKeyProcessor<String, byte[], Routed<Feedback>> {
  private static final Logger log = LoggerFactory.getLogger(FeedbackProcessor.class);
  private final FeedbackValidator validator;
  private final IngestMetrics metrics;
  private final String ledgerStore;
  private final Duration horizon;
  private FixedKeyProcessorContext<String, Routed<Feedback>> context;
  private FeedbackLedger ledger;

  /**
   * @param ledgerStore the {@link FeedbackLedger#store} connected to this processor
   * @param horizon how long a prediction's first label is remembered ({@link FeedbackLedger#horizon})
   */
  public FeedbackProcessor(FeedbackValidator validator, IngestMetrics metrics, String ledgerStore, Duration horizon) {
    this.validator = validator;
    this.metrics = metrics;
    this.ledgerStore = ledgerStore;
    this.horizon = horizon;
  }

  @Override
  public void init(FixedKeyProcessorContext<String, Routed<Feedback>> context) {
    this.context = context;
    this.ledger = new FeedbackLedger(context, ledgerStore, horizon);
  }

  @Override
  public void process(FixedKeyRecord<String, byte[]> record) {
    Verdict<Feedback> verdict = validator.validateRecord(record.key(), record.value());
    if (verdict instanceof Verdict.Accepted<Feedback> a) {
      FeedbackLedger.Check seen = ledger.check(record.key(), a.value().label(), Instant.ofEpochMilli(record.timestamp()));
      switch (seen.seen()) {
        case FIRST -> context.forward(record.withValue(Routed.accept(a.value())));
        case REPEAT -> {
          metrics.feedbackRepeated();
          log.debug("feedback {} repeats the label of prediction '{}': counted once", RejectHeaders.origin(
              context.recordMetadata()), record.key());
        }
        case CONFLICT -> reject(record, FeedbackValidator.Reason.RELABELLED, "prediction '" + record.key()
            + "' was labelled '" + seen.firstLabel() + "' at " + seen.firstAt() + "; a label counts once (the first), so '"
            + a.value().label() + "' is not used");
        default -> throw new IllegalStateException(seen.seen().name());
      }
    } else {
      Verdict.Rejected<Feedback> r = (Verdict.Rejected<Feedback>) verdict;
      reject(record, r.reason(), r.message());
    }
  }

  private void reject(FixedKeyRecord<String, byte[]> record, RejectReason reason, String message) {
    metrics.feedbackRejected(reason);
    log.warn("rejected feedback record {} (key '{}'): {}", RejectHeaders.origin(context.recordMetadata()), record.key(), message);
    context.forward(record.withValue(Routed.<Feedback>reject(record.value()))
        .withHeaders(RejectHeaders.of(record.headers(), message, context.applicationId(), context.recordMetadata())));
  }
}
