package dev.streamtune.ingest.internal;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.kafka.TopicReader;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.records.LabellingRequest;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.TreeSet;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The labelling requests this ingest instance offers over HTTP: a thread reads {@code labelling.requests} in a consumer group (so
 * instances share its partitions) and keeps the requests until a labelling tool takes them ({@link #take}), best priority
 * first. A request older than the join window is dropped (its label could no longer join its input), as is the lowest one
 * when more than {@code max} wait (both counted). Offsets are committed as read; on a clean stop or when a rebalance takes
 * partitions away, the requests still waiting from them are written back to the topic, so another instance (or this one
 * restarted) offers them. A crash loses what waited in this instance (the evaluator goes on asking for new inputs); nothing
 * is offered twice. An unreadable record goes to {@code records.rejected}. {@link #take} may be called from any thread.
 */
public final class LabellingInbox implements Runnable, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(LabellingInbox.class);
  /** Gauge: requests waiting to be taken, and counters of requests taken (tag {@code format}) and dropped (tag {@code reason}). */
  public static final String PENDING = "streamtune.ingest.labelling.pending";
  public static final String TAKEN = "streamtune.ingest.labelling.taken";
  public static final String DROPPED = "streamtune.ingest.labelling.dropped";

  private record Entry(LabellingRequest request, TopicPartition partition, long offset) {}

  /** Requests written back to the topic on a clean stop or a rebalance. */
  public static final String REQUEUED = "streamtune.ingest.labelling.requeued";

  private static final Comparator<Entry> BEST_FIRST = Comparator.comparingDouble((Entry e) -> -e.request().priority())
      .thenComparing(e -> e.request().requestedAt()).thenComparing(e -> e.partition().partition())
      .thenComparingLong(Entry::offset);

  private final KafkaConsumer<String, byte[]> consumer;
  private final KafkaProducer<String, LabellingRequest> requeue;
  private final RejectedRecords rejected;
  private final String topic;
  private final Duration maxAge;
  private final int max;
  private final Clock clock;
  private final MeterRegistry registry;
  private final TreeSet<Entry> waiting = new TreeSet<>(BEST_FIRST);
  private volatile boolean running = true;

  public LabellingInbox(KafkaClients kafka, String applicationId, Topics topics, Duration maxAge, int max, Clock clock,
      MeterRegistry registry) {
    this.consumer = KafkaSupport.rawConsumer(kafka, applicationId + "-labelling", applicationId + "-labelling");
    this.rejected = new RejectedRecords(kafka, applicationId + "-labelling", TopicReader.INGEST, topics, registry);
    this.requeue = KafkaSupport.producer(kafka, applicationId + "-labelling-requeue", topics.labellingRequests);
    this.topic = topics.labellingRequests.name();
    this.maxAge = maxAge;
    this.max = max;
    this.clock = clock;
    this.registry = registry;
    Gauge.builder(PENDING, this, LabellingInbox::pending)
        .description("labelling requests waiting here for a labelling tool to take them").register(registry);
  }

  @Override
  public void run() {
    try {
      consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          handBack(partitions);
          consumer.commitSync();
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {}

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
          forget(partitions);
        }
      });
      while (running) {
        var records = consumer.poll(Duration.ofMillis(500));
        for (ConsumerRecord<String, byte[]> r : records) {
          onRecord(r);
        }
        if (!records.isEmpty()) {
          consumer.commitAsync((m, e) -> {
            if (e != null) {
              log.warn("cannot commit the labelling inbox's offsets: {}", e.getMessage());
            }
          });
        }
      }
    } catch (WakeupException e) {
      if (running) {
        throw e;
      }
    } catch (RuntimeException e) {
      log.error("the labelling inbox stopped on an unexpected error", e);
      throw e;
    } finally {
      try {
        handBack(consumer.assignment());
        consumer.commitSync(Duration.ofSeconds(5));
      } catch (RuntimeException e) {
        log.warn("the labelling inbox could not hand back its requests or commit on stop: {}", e.getMessage());
      } finally {
        consumer.close(Duration.ofSeconds(5));
        requeue.close(Duration.ofSeconds(5));
        rejected.close();
      }
    }
  }

  private void onRecord(ConsumerRecord<String, byte[]> r) {
    LabellingRequest q;
    try {
      q = r.value() == null ? null : Json.fromBytes(r.value(), LabellingRequest.class);
    } catch (RecordFormatException e) {
      rejected.reject(r, "labelling request: " + e.getMessage());
      return;
    }
    if (q == null) {
      rejected.reject(r, "labelling request: empty record");
      return;
    }
    TopicPartition tp = new TopicPartition(r.topic(), r.partition());
    synchronized (this) {
      waiting.add(new Entry(q, tp, r.offset()));
      expire();
      while (waiting.size() > max) {
        drop(waiting.last(), "full");
      }
    }
  }

  /**
   * Takes up to {@code n} requests, best first: they are handed out and leave the inbox.
   *
   * @param format the {@code format} tag of the count (streamtune, label-studio)
   */
  public synchronized List<LabellingRequest> take(int n, String format) {
    expire();
    List<LabellingRequest> out = new ArrayList<>();
    while (out.size() < n && !waiting.isEmpty()) {
      out.add(waiting.pollFirst().request());
    }
    registry.counter(TAKEN, "format", format).increment(out.size());
    return out;
  }

  public synchronized int pending() {
    return waiting.size();
  }

  /** Writes the requests still waiting from these partitions back to the topic (flushed) and forgets them here. */
  private void handBack(Collection<TopicPartition> partitions) {
    List<Entry> back;
    synchronized (this) {
      back = waiting.stream().filter(e -> partitions.contains(e.partition())).toList();
      back.forEach(waiting::remove);
    }
    for (Entry e : back) {
      requeue.send(new ProducerRecord<>(topic, e.request().predictionId(), e.request()));
    }
    requeue.flush();
    if (!back.isEmpty()) {
      registry.counter(REQUEUED).increment(back.size());
      log.info("handed {} waiting labelling requests back to {}", back.size(), topic);
    }
  }

  /** Partitions lost without a clean hand-over (the group moved on): what waited from them is dropped, counted. */
  private synchronized void forget(Collection<TopicPartition> partitions) {
    List<Entry> lost = waiting.stream().filter(e -> partitions.contains(e.partition())).toList();
    lost.forEach(e -> drop(e, "lost"));
  }

  private void expire() {
    Instant oldest = clock.instant().minus(maxAge);
    List<Entry> old = waiting.stream().filter(e -> e.request().servedAt().isBefore(oldest)).toList();
    old.forEach(e -> drop(e, "expired"));
  }

  private void drop(Entry e, String reason) {
    waiting.remove(e);
    registry.counter(DROPPED, "reason", reason).increment();
  }

  /** Stops the thread; {@link #run()} hands back what waits, commits and returns soon after. */
  @Override
  public void close() {
    running = false;
    consumer.wakeup();
  }
}
