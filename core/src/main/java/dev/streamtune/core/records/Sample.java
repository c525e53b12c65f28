package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.Objects;

/**
 * A validated labelled sample on {@code samples}: the image as sent (PNG/JPEG bytes) and its label, domain and source.
 *
 * @param id sample id (the record key); for served images joined with feedback, the prediction id
 * @param label a label of the model's label set
 * @param domain where the image comes from (free text, e.g. a camera), used for reporting only
 * @param source who sent it (labelling tool, http, feedback, loader)
 */
public record Sample(int schema, String id, String label, String domain, String source, Instant timestamp, byte[] image)
    implements Versioned {
  public Sample {
    Versioned.check(schema, "sample");
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(label, "label");
    Objects.requireNonNull(timestamp, "timestamp");
    Objects.requireNonNull(image, "image");
    domain = domain == null || domain.isBlank() ? "unknown" : domain;
    source = source == null || source.isBlank() ? "unknown" : source;
  }

  public static Sample of(String id, String label, String domain, String source, Instant timestamp, byte[] image) {
    return new Sample(CURRENT, id, label, domain, source, timestamp, image);
  }
}
