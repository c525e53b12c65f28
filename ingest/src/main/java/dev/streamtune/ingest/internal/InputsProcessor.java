package dev.streamtune.ingest.internal;

import dev.streamtune.core.kafka.RejectHeaders;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guards the {@code inputs} side of the join: a record without a prediction id or without image bytes could never join (Kafka
 * Streams would drop it quietly), so it goes to {@code records.rejected} with a reason instead. The image itself is not decoded:
 * serving already answered it.
 */
public final class InputsProcessor implements FixedKeyProcessor<String, byte[], Routed<byte[]>> {
  /** Why an input was rejected (the {@code reason} tag of {@code streamtune.ingest.inputs.rejected}). */
  public enum Reason implements RejectReason {
    MISSING_ID("missing-id"), EMPTY_IMAGE("empty-image");

    private final String tag;

    Reason(String tag) {
      this.tag = tag;
    }

    @Override
    public String tag() {
      return tag;
    }
  }

  private static final Logger log = LoggerFactory.getLogger(InputsProcessor.class);
  private final IngestMetrics metrics;
  private FixedKeyProcessorContext<String, Routed<byte[]>> context;

  public InputsProcessor(IngestMetrics metrics) {
    this.metrics = metrics;
  }

  @Override
  public void init(FixedKeyProcessorContext<String, Routed<byte[]>> context) {
    this.context = context;
  }

  @Override
  public void process(FixedKeyRecord<String, byte[]> record) {
    Reason reason = null;
    String message = null;
    if (record.key() == null || record.key().isBlank()) {
      reason = Reason.MISSING_ID;
      message = "input record without a key; the key must be the prediction id";
    } else if (record.value() == null || record.value().length == 0) {
      reason = Reason.EMPTY_IMAGE;
      message = "input record for prediction '" + record.key() + "' holds no image bytes";
    }
    if (reason == null) {
      context.forward(record.withValue(Routed.accept(record.value())));
      return;
    }
    metrics.inputRejected(reason);
    log.warn("rejected input record {}: {}", RejectHeaders.origin(context.recordMetadata()), message);
    context.forward(record.withValue(Routed.<byte[]>reject(record.value()))
        .withHeaders(RejectHeaders.of(record.headers(), message, context.recordMetadata())));
  }
}
