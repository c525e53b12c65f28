package dev.streamtune.core.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * The headers every rejected record carries, in one format for all writers ({@link RejectedRecords}, the Streams topologies
 * and {@link StreamsErrorHandlers}): {@link Topics#HEADER_REJECT_REASON} with the reason, {@link Topics#HEADER_REJECT_TOPIC}
 * with the origin {@code topic-partition@offset} and {@link Topics#HEADER_REJECT_BY} with the application that rejected it.
 * Stateless and thread-safe.
 */
public final class RejectHeaders {
  private static final Set<String> REJECT_HEADERS =
      Set.of(Topics.HEADER_REJECT_REASON, Topics.HEADER_REJECT_TOPIC, Topics.HEADER_REJECT_BY);

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
   * A copy of {@code original} (null for none) without any reject headers of an earlier rejection, plus the reason, the
   * rejecting application {@code by} and, when {@code metadata} is present, the origin: the headers for forwarding a record that
   * a Streams processor rejects to a rejected topic. {@code original} is not changed.
   */
  public static Headers of(Headers original, String reason, String by, Optional<RecordMetadata> metadata) {
    RecordHeaders out = new RecordHeaders();
    copyOthers(original, out);
    add(out, reason, metadata.map(m -> origin(m.topic(), m.partition(), m.offset())).orElse(null), by);
    return out;
  }

  /** Copies {@code from}'s headers (null for none) into {@code to}, except the reject headers a new rejection sets. */
  static void copyOthers(Iterable<Header> from, Headers to) {
    if (from == null) {
      return;
    }
    for (Header h : from) {
      if (!REJECT_HEADERS.contains(h.key())) {
        to.add(h);
      }
    }
  }

  /** Adds the reject headers: the reason, the origin (none when null) and the application that rejected the record. */
  static void add(Headers to, String reason, String origin, String by) {
    to.add(Topics.HEADER_REJECT_REASON, reason.getBytes(StandardCharsets.UTF_8));
    if (origin != null) {
      to.add(Topics.HEADER_REJECT_TOPIC, origin.getBytes(StandardCharsets.UTF_8));
    }
    to.add(Topics.HEADER_REJECT_BY, by.getBytes(StandardCharsets.UTF_8));
  }
}
