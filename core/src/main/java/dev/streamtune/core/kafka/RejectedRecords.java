package dev.streamtune.core.kafka;

import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a record that a service cannot read to {@code records.rejected} with the reason and source in headers, logs one line and
 * counts it as {@code streamtune.records.rejected{topic}}: nothing is dropped silently and no poison record is retried. A reader
 * that is not the topic's {@linkplain Topics#rejecter rejecter} skips the record instead (one warning line, counted as {@code
 * streamtune.records.skipped{topic}}): the rejecter sends it, so one bad record is rejected once however many read it.
 * Thread-safe.
 */
public final class RejectedRecords implements AutoCloseable {
  /** Records a reader rejected (sent to {@code records.rejected} or a topic's own rejected topic), by topic read. */
  public static final String REJECTED = "streamtune.records.rejected";
  /** Unreadable records a reader skipped because another reader of the topic rejects them. */
  public static final String SKIPPED = "streamtune.records.skipped";
  private static final Logger log = LoggerFactory.getLogger(RejectedRecords.class);
  private final KafkaProducer<String, byte[]> producer;
  private final Topics topics;
  private final MeterRegistry registry;
  /** The client id: {@link Topics#HEADER_REJECT_BY} on every record this sends. */
  private final String by;
  private final TopicReader reader;

  public RejectedRecords(KafkaClients kafka, String clientId, TopicReader reader, Topics topics, MeterRegistry registry) {
    this.producer = KafkaSupport.producer(kafka, clientId + "-rejected", topics.recordsRejected);
    this.topics = topics;
    this.registry = registry;
    this.by = clientId;
    this.reader = reader;
  }

  /**
   * Rejects one consumed record with a reason, or skips it where another reader is the topic's rejecter; true when this sent
   * it to {@code records.rejected}.
   */
  public boolean reject(ConsumerRecord<String, byte[]> record, String reason) {
    if (!topics.rejects(reader, record.topic())) {
      skipped(registry, record.topic(), topics.rejecter(record.topic()), RejectHeaders.origin(record.topic(), record.partition(),
          record.offset()), reason);
      return false;
    }
    send(record, reason);
    return true;
  }

  /**
   * Rejects a record that this reader alone parses, whichever reader is its topic's rejecter: the held-out share of {@code
   * samples}, which only the gate reads (the trainer skips it unread, and trains on and rejects the rest).
   */
  public void rejectReadAlone(ConsumerRecord<String, byte[]> record, String reason) {
    send(record, reason);
  }

  private void send(ConsumerRecord<String, byte[]> record, String reason) {
    log.warn("rejected record {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), reason);
    registry.counter(REJECTED, "topic", record.topic()).increment();
    ProducerRecord<String, byte[]> out = new ProducerRecord<>(topics.recordsRejected.name(), record.key(), record.value());
    RejectHeaders.copyOthers(record.headers(), out.headers());
    RejectHeaders.add(out.headers(), reason, RejectHeaders.origin(record.topic(), record.partition(), record.offset()), by);
    producer.send(out, (md, e) -> {
      if (e != null) {
        log.error("could not forward rejected record {}-{}@{} to {}: {}", record.topic(), record.partition(), record.offset(),
            topics.recordsRejected.name(), e.toString());
        registry.counter("streamtune.records.rejected.lost", "topic", record.topic()).increment();
      }
    });
  }

  /** A reader's skip of an unreadable record that {@code rejecter} rejects: one warning line and the skipped counter. */
  public static void skipped(MeterRegistry registry, String topic, TopicReader rejecter, String origin, String reason) {
    log.warn("skipped unreadable record {} ({}): {} rejects it onto records.rejected", origin, reason,
        rejecter.name().toLowerCase(java.util.Locale.ROOT));
    registry.counter(SKIPPED, "topic", topic).increment();
  }

  @Override
  public void close() {
    producer.close();
  }
}
