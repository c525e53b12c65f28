package dev.streamtune.trainer.internal;

import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.KafkaSupport;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which of a model's trainers is the active one: every trainer joins one consumer group on a topic, and the member that Kafka's
 * group coordinator gives partition 0 is active; the others are standbys that keep their buffer and trigger in step but do not
 * train. When the active trainer dies its session expires ({@value #SESSION_MS} ms) and the group hands partition 0 to a
 * standby; when it stops cleanly it leaves the group at once. No record is read (the partitions stay paused): the group is used
 * for its membership only. A retrain already running when leadership is lost finishes and publishes its candidate.
 */
public final class Leadership implements Runnable, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Leadership.class);
  /** How long a dead active trainer holds leadership: the group's session timeout. */
  public static final int SESSION_MS = 10_000;

  private final KafkaConsumer<String, byte[]> consumer;
  private final TopicPartition first;
  private final AtomicBoolean active = new AtomicBoolean();
  private volatile boolean running = true;

  /**
   * @param group the group of the model's trainers (one per model)
   * @param topic a topic the trainers all know; its partition 0 is the leadership
   */
  public Leadership(KafkaClients kafka, String clientId, String group, String topic) {
    this.first = new TopicPartition(topic, 0);
    this.consumer = KafkaSupport.rawConsumer(kafka, clientId, group, Map.of(
        ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, SESSION_MS,
        ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, SESSION_MS / 5,
        // sticky: a standby that joins does not take partition 0 from the active trainer
        ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG, CooperativeStickyAssignor.class.getName()));
  }

  /** Whether this trainer is the active one now. */
  public boolean active() {
    return active.get();
  }

  @Override
  public void run() {
    try {
      consumer.subscribe(List.of(first.topic()), new ConsumerRebalanceListener() {
        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
          if (partitions.contains(first)) {
            set(false);
          }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
          set(false);
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
          consumer.pause(partitions);
          if (partitions.contains(first)) {
            set(true);
          }
        }
      });
      while (running) {
        consumer.poll(Duration.ofMillis(500));
      }
    } catch (WakeupException e) {
      if (running) {
        log.error("trainer leadership stopped unexpectedly", e);
      }
    } catch (RuntimeException e) {
      log.error("trainer leadership stopped: this trainer stays a standby", e);
    } finally {
      set(false);
      consumer.close();
    }
  }

  private void set(boolean now) {
    if (active.getAndSet(now) != now) {
      log.info(now ? "this trainer is now the active trainer" : "this trainer is now a standby");
    }
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
  }
}
