package dev.streamtune.ingest.internal;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.kafka.RejectHeaders;
import dev.streamtune.core.records.Feedback;
import dev.streamtune.core.records.Sample;
import java.time.Duration;
import java.util.Optional;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of the {@code feedback ⟕ inputs} join: a label that met its served image becomes a sample; a label that met none
 * within the join window (emitted by Kafka Streams once the window and its grace closed) goes to {@code records.rejected} with
 * reason {@code no-input}, as the feedback ingest read, instead of vanishing: the prediction id was unknown, or the serving node
 * that answered stopped before it published the input (its events are sent after the answer).
 */
public final class JoinedFeedback implements FixedKeyProcessor<String, JoinedFeedback.Labelled, Routed<Sample>> {
  /** A label and the served image it joined; {@code image} is null when none arrived within the window. */
  public record Labelled(Feedback feedback, byte[] image) {}

  private static final Logger log = LoggerFactory.getLogger(JoinedFeedback.class);
  private final IngestMetrics metrics;
  private final String domain;
  private final String source;
  private final Duration window;
  private FixedKeyProcessorContext<String, Routed<Sample>> context;

  /** @param window the join window, named in the reason of a label that joined nothing */
  public JoinedFeedback(IngestMetrics metrics, String domain, String source, Duration window) {
    this.metrics = metrics;
    this.domain = domain;
    this.source = source;
    this.window = window;
  }

  @Override
  public void init(FixedKeyProcessorContext<String, Routed<Sample>> context) {
    this.context = context;
  }

  @Override
  public void process(FixedKeyRecord<String, Labelled> record) {
    Feedback fb = record.value().feedback();
    if (record.value().image() != null) {
      metrics.sampleAccepted(source);
      context.forward(record.withValue(Routed.accept(Sample.of(record.key(), fb.label(), domain, source, fb.timestamp(),
          record.value().image()))));
      return;
    }
    String message = "no served input for prediction '" + record.key() + "' arrived within the join window (" + window
        + ") of its label given at " + fb.timestamp() + ": the prediction id is unknown, or the serving node that answered "
        + "stopped before it published the input";
    metrics.feedbackRejected(FeedbackValidator.Reason.NO_INPUT);
    log.warn("rejected feedback for prediction '{}': {}", record.key(), message);
    context.forward(record.withValue(Routed.<Sample>reject(Json.toBytes(fb)))
        .withHeaders(RejectHeaders.of(record.headers(), message, context.applicationId(), Optional.empty())));
  }
}
