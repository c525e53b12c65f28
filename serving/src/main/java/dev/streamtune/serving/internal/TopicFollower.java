package dev.streamtune.serving.internal;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.kafka.RejectedRecords;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;

/**
 * A thread that follows one JSON topic the way every serving node must: all partitions, no consumer group, from the beginning
 * (again whenever the topic first appears), first catching up with the end offsets read at the start, then going on with what
 * arrives. An unreadable record goes to {@code records.rejected} and is skipped; a Kafka failure or a failure of the subclass's
 * work is logged and retried after {@code retry}, never fatal. Subclasses say what a record, catching up and each poll mean;
 * every hook runs on the follower's thread.
 *
 * @param <T> the record type
 */
abstract class TopicFollower<T> implements AutoCloseable {
  static final Duration POLL = Duration.ofMillis(500);
  static final Duration METADATA_TIMEOUT = Duration.ofSeconds(5);

  private final Logger log;
  private final Consumer<String, byte[]> consumer;
  private final Class<T> type;
  private final RejectedRecords rejected;
  private final Thread thread;
  private final CountDownLatch closing = new CountDownLatch(1);
  final String topic;
  final String model;
  final Duration retry;
  private volatile boolean closed;
  /** True once the records up to the end offsets read at the start have been read. Follower thread only. */
  boolean caughtUp;

  /**
   * @param consumer a consumer without group id, owned (and closed) by this follower
   * @param retry how long to wait before trying again when the topic does not exist yet or reading it failed
   */
  TopicFollower(Logger log, Consumer<String, byte[]> consumer, String topic, String model, Class<T> type,
      RejectedRecords rejected, Duration retry, String threadName) {
    this.log = Objects.requireNonNull(log, "log");
    this.consumer = Objects.requireNonNull(consumer, "consumer");
    this.topic = Objects.requireNonNull(topic, "topic");
    this.model = Objects.requireNonNull(model, "model");
    this.type = Objects.requireNonNull(type, "type");
    this.rejected = Objects.requireNonNull(rejected, "rejected");
    this.retry = Objects.requireNonNull(retry, "retry");
    this.thread = new Thread(this::run, threadName);
    this.thread.setDaemon(true);
  }

  public void start() {
    thread.start();
  }

  /** A record of the topic, read (in order) before or after catching up. */
  abstract void onRecord(T value, ConsumerRecord<String, byte[]> r);

  /** The topic does not exist (yet); called before each wait of {@code retry}. */
  void onNoTopic() {}

  /** The topic is read from the beginning (again): forget what the last reading collected. */
  void onReplay(int partitions, Map<TopicPartition, Long> endOffsets) {}

  /** Every record up to the end offsets read at the start is read. */
  abstract void onCaughtUp();

  /** After each poll (and after {@link #onCaughtUp} on the poll that caught up). */
  abstract void afterPoll(boolean caughtUpBefore);

  /** A tombstone on the topic (skipped). */
  void onTombstone(ConsumerRecord<String, byte[]> r) {}

  /** The thread stops on an {@link Error}; serving goes on without what it followed. */
  abstract void onStopped(Error e);

  /** What the follower follows, for log lines: "promotions of fashion". */
  abstract String what();

  /** How long the next poll may wait for records: {@link #POLL}, or less when something is due sooner. */
  Duration pollTimeout() {
    return POLL;
  }

  private void run() {
    // loads and warm-ups run here: below the request threads, so a swap takes longer rather than the requests
    BackgroundPriority.lowerCurrentThread();
    List<TopicPartition> partitions = null;
    Map<TopicPartition, Long> endOffsets = null;
    try {
      while (!closed) {
        try {
          if (partitions == null) {
            partitions = discover();
            if (partitions == null) {
              onNoTopic();
              sleep(retry);
              continue;
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            endOffsets = consumer.endOffsets(partitions);
            caughtUp = false;
            onReplay(partitions.size(), endOffsets);
          }
          for (ConsumerRecord<String, byte[]> r : consumer.poll(pollTimeout())) {
            T value = read(r);
            if (value != null) {
              onRecord(value, r);
            }
          }
          boolean before = caughtUp;
          if (!caughtUp && atEnd(endOffsets)) {
            caughtUp = true;
            onCaughtUp();
          }
          afterPoll(before);
        } catch (WakeupException e) {
          // close() wakes the consumer; the loop condition ends the thread
        } catch (KafkaException e) {
          log.warn("cannot read {} ({}); retrying in {} ms", topic, e.toString(), retry.toMillis());
          sleep(retry);
        } catch (RuntimeException e) {
          // e.g. the store's volume went away: say so and try again rather than stop following for good
          log.warn("following {} failed: {}; retrying in {} ms", what(), e.toString(), retry.toMillis());
          sleep(retry);
        }
      }
    } catch (Error e) {
      onStopped(e);
    } finally {
      consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }
  }

  /** The topic's partitions in order, or null when the topic does not exist yet. */
  private List<TopicPartition> discover() {
    List<PartitionInfo> infos = consumer.partitionsFor(topic, METADATA_TIMEOUT);
    if (infos == null || infos.isEmpty()) {
      return null;
    }
    return infos.stream().map(i -> new TopicPartition(i.topic(), i.partition())).sorted(
        (a, b) -> Integer.compare(a.partition(), b.partition())).toList();
  }

  private boolean atEnd(Map<TopicPartition, Long> endOffsets) {
    for (Map.Entry<TopicPartition, Long> e : endOffsets.entrySet()) {
      if (consumer.position(e.getKey()) < e.getValue()) {
        return false;
      }
    }
    return true;
  }

  /** Parses a record; an unreadable one is rejected with its reason and skipped, a tombstone skipped. */
  private T read(ConsumerRecord<String, byte[]> r) {
    if (r.value() == null) {
      onTombstone(r);
      return null;
    }
    try {
      return Json.fromBytes(r.value(), type);
    } catch (RecordFormatException e) {
      rejected.reject(r, e.getMessage());
      return null;
    }
  }

  /** Waits up to {@code d}, less when the follower is closed. */
  void sleep(Duration d) {
    try {
      closing.await(d.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  /** Stops following; a load in progress finishes first (no interrupt: it could cut a model load short). */
  @Override
  public void close() {
    closed = true;
    closing.countDown();
    if (thread.getState() == Thread.State.NEW) {
      consumer.close(CloseOptions.timeout(Duration.ZERO)); // never started: the thread that would close it never ran
      return;
    }
    consumer.wakeup();
    try {
      thread.join(TimeUnit.SECONDS.toMillis(60));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
