package dev.streamtune.ingest.internal;

import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.kafka.RejectHeaders;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Guards the {@code inputs} side of the join: a record without a prediction id or without image bytes could never join (Kafka
 * Streams would drop it quietly), and an image the model's preprocessing refuses (not an image, a size it does not take, over
 * the pixel limit, read from the header before decoding) must not become a sample: like {@code samples.raw}, each goes to
 * {@code records.rejected} with a reason instead. Anyone who can write to {@code inputs} is not necessarily serving.
 */
public final class InputsProcessor implements FixedKeyProcessor<String, byte[], Routed<byte[]>> {
  /** Why an input was rejected (the {@code reason} tag of {@code streamtune.ingest.inputs.rejected}). */
  public enum Reason implements RejectReason {
    MISSING_ID("missing-id"), EMPTY_IMAGE("empty-image"), NOT_AN_IMAGE("not-an-image"), WRONG_SIZE("wrong-size"),
    TOO_LARGE("too-large");

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
  private final Preprocessor images;
  private FixedKeyProcessorContext<String, Routed<byte[]>> context;

  /** @param images decodes an input as the model takes it, as {@link SampleValidator} decodes a sample */
  public InputsProcessor(IngestMetrics metrics, Preprocessor images) {
    this.metrics = metrics;
    this.images = images;
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
    } else {
      try {
        images.decode(record.value());
      } catch (ImageFormatException e) {
        reason = switch (e.kind()) {
          case WRONG_SIZE -> Reason.WRONG_SIZE;
          case TOO_LARGE -> Reason.TOO_LARGE;
          case EMPTY, NOT_AN_IMAGE -> Reason.NOT_AN_IMAGE;
        };
        message = "input image for prediction '" + record.key() + "': " + e.getMessage();
      }
    }
    if (reason == null) {
      context.forward(record.withValue(Routed.accept(record.value())));
      return;
    }
    metrics.inputRejected(reason);
    log.warn("rejected input record {}: {}", RejectHeaders.origin(context.recordMetadata()), message);
    context.forward(record.withValue(Routed.<byte[]>reject(record.value()))
        .withHeaders(RejectHeaders.of(record.headers(), message, context.applicationId(), context.recordMetadata())));
  }
}
