package dev.streamtune.serving.internal;

import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.model.PromotionCheck;
import dev.streamtune.core.records.Promotion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows the compacted {@code promotions} topic on its own thread and keeps the {@link ModelSwapper} serving the newest
 * promoted version of one model.
 *
 * <p>Every node must see every promotion, so there is no consumer group: the follower assigns all partitions itself and reads
 * from the beginning. On boot (and whenever the topic first appears) it catches up to the end offsets, then serves only the
 * newest promotion (the base model if there is none) instead of loading every historical version. After that, each polled batch
 * applies the newest promotion of the model it holds, at most one swap per {@code minInterval}: a promotion that arrives sooner
 * waits, and one superseded by a newer promotion meanwhile is never loaded (counted in
 * {@value ServingMetrics#SWAPS_SUPERSEDED}), so a burst of promotions costs one load, not one per promotion. Between polls it
 * publishes each swap's jitter ({@link ServingMetrics#closeSwapWindow}). An unreadable record is sent to {@code records.rejected} and skipped; a
 * Kafka failure is logged and retried, never fatal. While nothing serves (an empty store), it retries the base model every few
 * seconds.
 */
public final class PromotionFollower extends TopicFollower<Promotion> {
  private static final Logger log = LoggerFactory.getLogger(PromotionFollower.class);

  private final PromotionCheck check;
  private final ModelSwapper swapper;
  private final ModelHolder holder;
  /** The promotions read while catching up, and the newest read by the last poll. Follower thread only. */
  private final List<Promotion> history = new ArrayList<>();
  private Promotion newest;
  /** A promotion waiting for the minimum interval since the last swap. Follower thread only. */
  private Promotion pending;
  private long nextSwapNanos;
  private final Duration minInterval;
  private final ServingMetrics metrics;
  private long nextRetryNanos;
  private int emptyStoreTries;

  /**
   * @param consumer a consumer without group id, owned (and closed) by this follower
   * @param retry how long to wait before trying again when Kafka or the store has nothing to serve yet
   */
  /**
   * @param consumer a consumer without group id, owned (and closed) by this follower
   * @param retry how long to wait before trying again when Kafka or the store has nothing to serve yet
   * @param minInterval the shortest time between two swaps (zero: none)
   * @param metrics where superseded promotions and swap jitter are counted
   */
  public PromotionFollower(Consumer<String, byte[]> consumer, String topic, String model, ModelSwapper swapper, ModelHolder holder,
      RejectedRecords rejected, PromotionCheck check, Duration retry, Duration minInterval, ServingMetrics metrics) {
    super(log, consumer, topic, model, Promotion.class, rejected, retry, "serving-promotions");
    this.minInterval = Objects.requireNonNull(minInterval, "minInterval");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.check = Objects.requireNonNull(check, "check");
    this.swapper = Objects.requireNonNull(swapper, "swapper");
    this.holder = Objects.requireNonNull(holder, "holder");
  }

  @Override
  void onNoTopic() {
    // no topic: nothing was ever promoted, so the base model is what a node serves
    caughtUp = true;
    emptyStoreTries = serveBaseOrSay(emptyStoreTries);
  }

  @Override
  void onReplay(int partitions, Map<TopicPartition, Long> endOffsets) {
    history.clear();
    log.info("reading {} from the beginning: {} partitions, end offsets {}", topic, partitions, endOffsets.values());
  }

  @Override
  void onRecord(Promotion p, ConsumerRecord<String, byte[]> r) {
    if (p.model().equals(model) && check.accept(p, model)) {
      log.info("promotion of {} v{} read from {}-{}@{}: {}", model, p.version(), r.topic(), r.partition(), r.offset(),
          p.reason());
      newest = p;
      if (!caughtUp) {
        history.add(p);
      }
    }
  }

  @Override
  void onCaughtUp() {
    log.info("caught up with {}: {} promotions of {}; serving the newest that loads", topic, history.size(), model);
    swapper.applyNewest(history);
    history.clear();
  }

  @Override
  void afterPoll(boolean caughtUpBefore) {
    if (caughtUpBefore && newest != null) {
      if (pending != null && pending.version() != newest.version()) {
        log.info("promotion of {} v{} superseded by v{} before it was loaded (at most one swap every {} ms)", model,
            pending.version(), newest.version(), minInterval.toMillis());
        metrics.countSuperseded();
      }
      pending = newest;
    }
    newest = null;
    if (pending != null && System.nanoTime() >= nextSwapNanos) {
      Promotion p = pending;
      pending = null;
      boolean swaps = holder.version().orElse(-1) != p.version();
      swapper.apply(p);
      if (swaps) {
        nextSwapNanos = System.nanoTime() + minInterval.toNanos();
      }
    }
    metrics.closeSwapWindow().ifPresent(r -> log.info("swap to {} v{}: p99 {} ms during it ({} requests, until {} ms after it "
        + "served) against {} ms steady before it ({} requests): {}x", model, r.version(),
        String.format(java.util.Locale.ROOT, "%.1f", r.swapP99Seconds() * 1e3), r.swapRequests(), SwapJitter.SETTLE.toMillis(),
        String.format(java.util.Locale.ROOT, "%.1f", r.steadyP99Seconds() * 1e3), r.steadyRequests(),
        String.format(java.util.Locale.ROOT, "%.2f", r.ratio())));
    if (caughtUp && holder.current() == null && System.nanoTime() >= nextRetryNanos) {
      emptyStoreTries = serveBaseOrSay(emptyStoreTries);
      nextRetryNanos = System.nanoTime() + retry.toNanos();
    }
  }

  @Override
  Duration pollTimeout() {
    if (pending == null) {
      return POLL;
    }
    long wait = nextSwapNanos - System.nanoTime();
    return Duration.ofNanos(Math.max(1_000_000, Math.min(POLL.toNanos(), wait)));
  }

  @Override
  void onTombstone(ConsumerRecord<String, byte[]> r) {
    log.info("tombstone for '{}' on {}-{}@{}: ignored, the model serving keeps serving", r.key(), r.topic(), r.partition(),
        r.offset());
  }

  @Override
  void onStopped(Error e) {
    log.error("the promotion follower of {} stopped: {}; {} keeps serving without following promotions", model, e.toString(),
        holder.version().isPresent() ? "v" + holder.version().getAsInt() : "nothing", e);
  }

  @Override
  String what() {
    return topic + " for " + model;
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
}
