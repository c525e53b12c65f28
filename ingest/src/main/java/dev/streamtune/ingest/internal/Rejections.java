package dev.streamtune.ingest.internal;

import dev.streamtune.core.kafka.Topics;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/** Headers of rejected records, in the format of core's {@code RejectedRecords}: the original headers plus reason and origin. */
final class Rejections {
  private Rejections() {}

  /** A copy of {@code original} plus {@code st-reject-reason} and, when known, {@code st-reject-topic} (topic-partition@offset). */
  static Headers headers(Headers original, String reason, Optional<RecordMetadata> origin) {
    RecordHeaders out = new RecordHeaders();
    if (original != null) {
      for (Header h : original) {
        out.add(h);
      }
    }
    out.add(Topics.HEADER_REJECT_REASON, reason.getBytes(StandardCharsets.UTF_8));
    origin.ifPresent(m -> out.add(Topics.HEADER_REJECT_TOPIC, where(m).getBytes(StandardCharsets.UTF_8)));
    return out;
  }

  static String where(Optional<RecordMetadata> origin) {
    return origin.map(Rejections::where).orElse("?");
  }

  static String where(RecordMetadata m) {
    return m.topic() + "-" + m.partition() + "@" + m.offset();
  }

  /** The last value of a header as UTF-8, or null. */
  static String header(Headers headers, String name) {
    Header h = headers == null ? null : headers.lastHeader(name);
    return h == null || h.value() == null ? null : new String(h.value(), StandardCharsets.UTF_8).trim();
  }
}
