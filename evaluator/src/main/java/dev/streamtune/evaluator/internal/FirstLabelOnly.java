package dev.streamtune.evaluator.internal;

import dev.streamtune.core.kafka.FeedbackLedger;
import dev.streamtune.core.records.Feedback;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;

/**
 * Passes on a prediction's first label only ({@link FeedbackLedger}), so a resent label or a second opinion is not counted as a
 * second outcome. What it holds back is counted as {@link EvaluatorMeters#FEEDBACK_IGNORED}{@code {reason}} ({@code repeat} or
 * {@code relabelled}); ingest, which reads the same topic, rejects a different label to {@code records.rejected} with its reason.
 */
public final class FirstLabelOnly implements FixedKeyProcessor<String, Feedback, Feedback> {
  private final MeterRegistry registry;
  private final String store;
  private final Duration horizon;
  private FixedKeyProcessorContext<String, Feedback> context;
  private FeedbackLedger ledger;

  public FirstLabelOnly(MeterRegistry registry, String store, Duration horizon) {
    this.registry = registry;
    this.store = store;
    this.horizon = horizon;
  }

  @Override
  public void init(FixedKeyProcessorContext<String, Feedback> context) {
    this.context = context;
    this.ledger = new FeedbackLedger(context, store, horizon);
  }

  @Override
  public void process(FixedKeyRecord<String, Feedback> record) {
    FeedbackLedger.Seen seen = ledger.check(record.key(), record.value().label(), Instant.ofEpochMilli(record.timestamp())).seen();
    if (seen == FeedbackLedger.Seen.FIRST) {
      context.forward(record);
    } else {
      registry.counter(EvaluatorMeters.FEEDBACK_IGNORED, "reason", reason(seen)).increment();
    }
  }

  /** The {@code reason} tag of a label that is not the first. */
  static String reason(FeedbackLedger.Seen seen) {
    return seen == FeedbackLedger.Seen.CONFLICT ? "relabelled" : seen.name().toLowerCase(Locale.ROOT);
  }
}
