package dev.streamtune.core.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * The headers every rejected record carries, in one format for all writers ({@link RejectedRecords}, the Streams topologies
 * and {@link StreamsErrorHandlers}): {@link Topics#HEADER_REJECT_REASON} with the reason and {@link Topics#HEADER_REJECT_TOPIC}
 * with the origin {@code topic-partition@offset}. Stateless and thread-safe.
 */
public final class RejectHeaders {
  private RejectHeaders() {}

  /** The origin of a record as {@code topic-partition@offset}, the value of {@link Topics#HEADER_REJECT_TOPIC}. */
  public static String origin(String topic, int partition, long offset) {
    return topic + "-" + partition + "@" + offset;
  }

  /** The origin of the record a Streams processor handles, or {@code ?} when it has none (e.g. from a punctuator). */
  public static String origin(Optional<RecordMetadata> metadata) {
    return metadata.map(m -> origin(m.topic(), m.partition(), m.offset())).orElse("?");
  }

  /**
   * A copy of {@code original} (null for none) plus the reason and, when {@code metadata} is present, the origin: the headers
   * for forwarding a record that a Streams processor rejects to a rejected topic. {@code original} is not changed.
   */
  public static Headers of(Headers original, String reason, Optional<RecordMetadata> metadata) {
    RecordHeaders out = new RecordHeaders();
    if (original != null) {
      for (Header h : original) {
        out.add(h);
      }
    }
    out.add(Topics.HEADER_REJECT_REASON, reason.getBytes(StandardCharsets.UTF_8));
    metadata.ifPresent(m -> out.add(Topics.HEADER_REJECT_TOPIC,
        origin(m.topic(), m.partition(), m.offset()).getBytes(StandardCharsets.UTF_8)));
    return out;
  }
}
