package dev.streamtune.ingest.internal;

import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.records.Sample;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * Decides whether a labelled image may become a {@link Sample}: it needs an id, a label of the label set (name or class index)
 * and an image that the model's preprocessing accepts (its size within the pixel limit, read from the header before decoding;
 * the model's size, or any size when its resize policy resizes). The one validator behind both the {@code samples.raw} topology
 * and {@code POST /samples}. Cheap checks run first, the image decode last. Stateless and thread-safe.
 */
public final class SampleValidator {
  /** Why a sample was rejected (the {@code reason} tag of {@code streamtune.ingest.samples.rejected}). */
  public enum Reason implements RejectReason {
    MISSING_ID("missing-id"), NOT_AN_IMAGE("not-an-image"), WRONG_SIZE("wrong-size"), TOO_LARGE("too-large"),
    MISSING_LABEL("missing-label"), UNKNOWN_LABEL("unknown-label");

    private final String tag;

    Reason(String tag) {
      this.tag = tag;
    }

    @Override
    public String tag() {
      return tag;
    }
  }

  private final LabelSet labels;
  private final Preprocessor images;

  public SampleValidator(LabelSet labels, Preprocessor images) {
    this.labels = Objects.requireNonNull(labels, "labels");
    this.images = Objects.requireNonNull(images, "images");
  }

  public LabelSet labels() {
    return labels;
  }

  /**
   * Validates one sample.
   *
   * @param id the sample id (the record key); null or blank is rejected
   * @param image the encoded image as sent
   * @param label a label name or class index; mapped to the name in the accepted sample
   * @param domain free text, may be null
   * @param source who sent it, may be null
   * @param timestamp the sample's time (the record timestamp)
   */
  public Verdict<Sample> validate(String id, byte[] image, String label, String domain, String source, Instant timestamp) {
    if (id == null || id.isBlank()) {
      return Verdict.reject(Reason.MISSING_ID, "missing sample id");
    }
    if (label == null || label.isBlank()) {
      return Verdict.reject(Reason.MISSING_LABEL, "missing label; expected " + labels.describe());
    }
    Optional<String> name = labels.resolve(label);
    if (name.isEmpty()) {
      return Verdict.reject(Reason.UNKNOWN_LABEL, "unknown label '" + label + "'; expected " + labels.describe());
    }
    try {
      images.decode(image);
    } catch (ImageFormatException e) {
      Reason reason = switch (e.kind()) {
        case WRONG_SIZE -> Reason.WRONG_SIZE;
        case TOO_LARGE -> Reason.TOO_LARGE;
        case EMPTY, NOT_AN_IMAGE -> Reason.NOT_AN_IMAGE;
      };
      return Verdict.reject(reason, e.getMessage());
    }
    return Verdict.accept(Sample.of(id, name.get(), domain, source, timestamp, image));
  }
}
