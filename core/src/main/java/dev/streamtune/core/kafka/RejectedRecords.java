package dev.streamtune.core.kafka;

import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends a record that a service cannot read to {@code records.rejected} with the reason and source in headers, logs one line and
 * counts it as {@code streamtune.records.rejected{topic}}: nothing is dropped silently and no poison record is retried. Thread-safe.
 */
public final class RejectedRecords implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RejectedRecords.class);
  private final KafkaProducer<String, byte[]> producer;
  private final Topics topics;
  private final MeterRegistry registry;
  /** The client id: {@link Topics#HEADER_REJECT_BY} on every record this sends. */
  private final String by;

  public RejectedRecords(String bootstrap, String clientId, Topics topics, MeterRegistry registry) {
    this(KafkaClients.of(bootstrap), clientId, topics, registry);
  }

  public RejectedRecords(KafkaClients kafka, String clientId, Topics topics, MeterRegistry registry) {
    this.producer = KafkaSupport.producer(kafka, clientId + "-rejected", topics.recordsRejected);
    this.topics = topics;
    this.registry = registry;
    this.by = clientId;
  }

  /** Rejects one consumed record with a reason. */
  public void reject(ConsumerRecord<String, byte[]> record, String reason) {
    log.warn("rejected record {}-{}@{}: {}", record.topic(), record.partition(), record.offset(), reason);
    registry.counter("streamtune.records.rejected", "topic", record.topic()).increment();
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

  @Override
  public void close() {
    producer.close();
  }
}
