package dev.streamtune.serving.internal;

import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.model.PromotionCheck;
import dev.streamtune.core.records.Promotion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.CloseOptions;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the compacted {@code promotions} topic on its own thread and keeps the {@link ModelSwapper} serving the newest
 * promoted version of one model.
 *
 * <p>Every node must see every promotion, so there is no consumer group: the follower assigns all partitions itself and reads
 * from the beginning. On boot (and whenever the topic first appears) it catches up to the end offsets, then serves only the
 * newest promotion (the base model if there is none) instead of loading every historical version. After that, each polled batch
 * applies the newest promotion of the model it holds. An unreadable record is sent to {@code records.rejected} and skipped; a
 * Kafka failure is logged and retried, never fatal. While nothing serves (an empty store), it retries the base model every few
 * seconds.
 */
public final class PromotionFollower implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(PromotionFollower.class);
  private static final Duration POLL = Duration.ofMillis(500);
  private static final Duration METADATA_TIMEOUT = Duration.ofSeconds(5);

  private final PromotionCheck check;
  private final Consumer<String, byte[]> consumer;
  private final String topic;
  private final String model;
  private final ModelSwapper swapper;
  private final ModelHolder holder;
  private final RejectedRecords rejected;
  private final Duration retry;
  private final Thread thread;
  private final CountDownLatch closing = new CountDownLatch(1);
  private volatile boolean closed;
  private boolean caughtUp;

  /**
   * @param consumer a consumer without group id, owned (and closed) by this follower
   * @param retry how long to wait before trying again when Kafka or the store has nothing to serve yet
   */
  public PromotionFollower(Consumer<String, byte[]> consumer, String topic, String model, ModelSwapper swapper, ModelHolder holder,
      RejectedRecords rejected, PromotionCheck check, Duration retry) {
    this.check = Objects.requireNonNull(check, "check");
    this.consumer = Objects.requireNonNull(consumer, "consumer");
    this.topic = Objects.requireNonNull(topic, "topic");
    this.model = Objects.requireNonNull(model, "model");
    this.swapper = Objects.requireNonNull(swapper, "swapper");
    this.holder = Objects.requireNonNull(holder, "holder");
    this.rejected = Objects.requireNonNull(rejected, "rejected");
    this.retry = Objects.requireNonNull(retry, "retry");
    this.thread = new Thread(this::run, "serving-promotions");
    this.thread.setDaemon(true);
  }

  public void start() {
    thread.start();
  }

  private void run() {
    List<TopicPartition> partitions = null;
    Map<TopicPartition, Long> endOffsets = null;
    List<Promotion> history = new ArrayList<>();
    long nextRetryNanos = 0;
    int emptyStoreTries = 0;
    try {
      while (!closed) {
        try {
          if (partitions == null) {
            partitions = discover();
            if (partitions == null) {
              // no topic: nothing was ever promoted, so the base model is what a node serves
              caughtUp = true;
              emptyStoreTries = serveBaseOrSay(emptyStoreTries);
              sleep(retry);
              continue;
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            endOffsets = consumer.endOffsets(partitions);
            caughtUp = false;
            history.clear();
            log.info("reading {} from the beginning: {} partitions, end offsets {}", topic, partitions.size(), endOffsets.values());
          }
          ConsumerRecords<String, byte[]> records = consumer.poll(POLL);
          Promotion newest = null;
          for (ConsumerRecord<String, byte[]> r : records) {
            Promotion p = read(r);
            if (p != null && p.model().equals(model) && check.accept(p, model)) {
              log.info("promotion of {} v{} read from {}-{}@{}: {}", model, p.version(), r.topic(), r.partition(), r.offset(),
                  p.reason());
              newest = p;
              if (!caughtUp) {
                history.add(p);
              }
            }
          }
          if (!caughtUp) {
            if (atEnd(endOffsets)) {
              caughtUp = true;
              log.info("caught up with {}: {} promotions of {}; serving the newest that loads", topic, history.size(), model);
              swapper.applyNewest(history);
              history.clear();
            }
          } else if (newest != null) {
            swapper.apply(newest);
          }
          if (caughtUp && holder.current() == null && System.nanoTime() >= nextRetryNanos) {
            emptyStoreTries = serveBaseOrSay(emptyStoreTries);
            nextRetryNanos = System.nanoTime() + retry.toNanos();
          }
        } catch (WakeupException e) {
          // close() wakes the consumer; the loop condition ends the thread
        } catch (KafkaException e) {
          log.warn("cannot read {} ({}); retrying in {} ms", topic, e.toString(), retry.toMillis());
          sleep(retry);
        } catch (RuntimeException e) {
          // e.g. the store's volume went away: say so and try again rather than stop following for good
          log.warn("following {} for {} failed: {}; retrying in {} ms", topic, model, e.toString(), retry.toMillis());
          sleep(retry);
        }
      }
    } catch (Error e) {
      log.error("the promotion follower of {} stopped: {}; {} keeps serving without following promotions", model, e.toString(),
          holder.version().isPresent() ? "v" + holder.version().getAsInt() : "nothing", e);
    } finally {
      consumer.close(CloseOptions.timeout(Duration.ofSeconds(5)));
    }
  }

  /** The topic's partitions, or null when the topic does not exist yet. */
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

  /** Parses a record; an unreadable one is rejected with its reason and skipped. A tombstone is logged and skipped. */
  private Promotion read(ConsumerRecord<String, byte[]> r) {
    if (r.value() == null) {
      log.info("tombstone for '{}' on {}-{}@{}: ignored, the model serving keeps serving", r.key(), r.topic(), r.partition(),
          r.offset());
      return null;
    }
    try {
      return Json.fromBytes(r.value(), Promotion.class);
    } catch (RecordFormatException e) {
      rejected.reject(r, e.getMessage());
      return null;
    }
  }

  private int serveBaseOrSay(int tries) {
    if (swapper.serveBase()) {
      return 0;
    }
    if (tries % 12 == 0) {
      log.warn("no version of model '{}' in the store yet: not ready; retrying every {} s", model, retry.toSeconds());
    }
    return tries + 1;
  }

  private void sleep(Duration d) {
    try {
      closing.await(d.toNanos(), TimeUnit.NANOSECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      closed = true;
    }
  }

  /** Stops following; a load in progress finishes first. */
  @Override
  public void close() {
    closed = true;
    closing.countDown();
    // no interrupt: it could cut a model load short and count it as a failed swap
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
