package dev.streamtune.serving.internal;

import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.ModelStore;
import dev.streamtune.core.model.PromotionCheck;
import dev.streamtune.core.records.Candidate;
import dev.streamtune.serving.internal.ServingMetrics.ShadowRefusal;
import java.time.Duration;
import java.util.HashSet;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows {@code candidates} on its own thread and keeps the {@link ShadowScorer} scoring the newest candidate of the version
 * serving now: the shadow.
 *
 * <p>Like {@link PromotionFollower}, every node reads the whole topic itself (no consumer group), from the beginning, keeping
 * only the newest candidate per parent version; it chooses a shadow once it has caught up with the end. Then, after every poll,
 * the shadow is the newest candidate whose parent serves now and whose version is newer: it is checked against the store
 * (name, version, the announced sha256), loaded, verified and warmed up here, off the request path, and handed to the scorer. A
 * promotion (the version serving changes: the candidate was promoted, or another was) or a newer candidate of the same parent
 * drops it. A failed retrain is not a shadow. A candidate that is refused is logged and counted in
 * {@code streamtune.serving.shadow.refused{reason}} once, and not tried again; the node serves on either way. An unreadable record
 * goes to {@code records.rejected} and is skipped; a Kafka failure is logged and retried, never fatal.
 */
public final class CandidateFollower extends TopicFollower<Candidate> {
  private static final Logger log = LoggerFactory.getLogger(CandidateFollower.class);
  /** Parents whose newest candidate is remembered (a rollback may serve an earlier parent again); the lowest go first. */
  private static final int MAX_PARENTS = 32;

  private final ModelStore store;
  private final ModelHolder holder;
  private final ShadowScorer scorer;
  private final ServingMetrics metrics;
  private final int warmBatch;
  /** The newest trained candidate by parent version. Used by the follower thread only. */
  private final NavigableMap<Integer, Candidate> newestByParent = new TreeMap<>();
  /** Candidates (version and sha256) refused once: not loaded again. */
  private final Set<String> refused = new HashSet<>();

  /**
   * @param consumer a consumer without group id, owned (and closed) by this follower
   * @param warmBatch the rows of the warm-up batch: the largest batch the shadow will score
   * @param retry how long to wait before trying again when the topic does not exist yet or Kafka fails
   */
  public CandidateFollower(Consumer<String, byte[]> consumer, String topic, String model, ModelStore store, ModelHolder holder,
      ShadowScorer scorer, RejectedRecords rejected, ServingMetrics metrics, int warmBatch, Duration retry) {
    super(log, consumer, topic, model, Candidate.class, rejected, retry, "serving-candidates");
    this.store = Objects.requireNonNull(store, "store");
    this.holder = Objects.requireNonNull(holder, "holder");
    this.scorer = Objects.requireNonNull(scorer, "scorer");
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.warmBatch = warmBatch;
  }

  @Override
  void onReplay(int partitions, Map<TopicPartition, Long> endOffsets) {
    newestByParent.clear();
    log.info("reading {} from the beginning for shadow candidates of {}: {} partitions, end offsets {}", topic, model,
        partitions, endOffsets.values());
  }

  @Override
  void onCaughtUp() {
    log.info("caught up with {}: the newest candidates of {} by parent version: {}", topic, model,
        newestByParent.entrySet().stream().map(e -> "v" + e.getKey() + " -> v" + e.getValue().version()).toList());
  }

  @Override
  void afterPoll(boolean caughtUpBefore) {
    if (caughtUp) {
      reconcile();
    }
  }

  @Override
  void onStopped(Error e) {
    log.error("the candidate follower of {} stopped: {}; serving goes on without shadow scoring", model, e.toString(), e);
    scorer.drop("the candidate follower stopped");
  }

  @Override
  String what() {
    return topic + " for shadow candidates of " + model;
  }

  /** Remembers a candidate of this model if it is the newest of its parent. */
  @Override
  void onRecord(Candidate c, ConsumerRecord<String, byte[]> r) {
    if (!model.equals(c.model())) {
      return;
    }
    if (c.failure() != null) {
      if (caughtUp) {
        log.info("failed retrain of {} from v{} read from {}-{}@{}: nothing to score in the shadow", model, c.parentVersion(),
            r.topic(), r.partition(), r.offset());
      }
      return;
    }
    newestByParent.merge(c.parentVersion(), c, (had, now) -> now.version() >= had.version() ? now : had);
    while (newestByParent.size() > MAX_PARENTS) {
      newestByParent.pollFirstEntry();
    }
    if (caughtUp) {
      log.info("candidate {} v{} (parent v{}) read from {}-{}@{}", model, c.version(), c.parentVersion(), r.topic(),
          r.partition(), r.offset());
    }
  }

  /** Makes the shadow the newest candidate of the version serving now, or none. */
  private void reconcile() {
    OptionalInt serving = holder.version();
    Optional<ShadowScorer.Pair> current = scorer.current();
    if (serving.isEmpty()) {
      current.ifPresent(p -> scorer.drop("nothing serves"));
      return;
    }
    int champion = serving.getAsInt();
    Candidate want = newestByParent.get(champion);
    if (want != null && want.version() <= champion) {
      want = null; // older than the version serving (e.g. promoted, then rolled back): not a candidate any more
    }
    if (want == null) {
      current.ifPresent(p -> scorer.drop(p.champion() != champion ? "v" + champion + " serves now"
          : "no candidate of v" + champion));
      return;
    }
    if (current.isPresent() && current.get().shadow() == want.version() && current.get().champion() == champion) {
      return;
    }
    if (current.isPresent()) {
      scorer.drop(current.get().champion() != champion ? "v" + champion + " serves now"
          : "superseded by candidate v" + want.version());
    }
    String key = want.version() + ":" + want.sha256();
    if (!refused.contains(key)) {
      load(want, champion, key);
    }
  }

  /** Checks, loads, verifies and warms up a candidate, and hands it to the scorer; a refusal is logged and counted once. */
  private void load(Candidate c, int champion, String key) {
    Optional<PromotionCheck.Refusal> refusal = PromotionCheck.refusal(store, c.model(), c.version(), c.sha256());
    if (refusal.isPresent()) {
      refuse(c, ShadowRefusal.valueOf(refusal.get().reason().name()), refusal.get().text(), key);
      return;
    }
    long t0 = System.nanoTime();
    LoadedModel m;
    try {
      m = store.load(model, c.version(), c.sha256());
      ModelSwapper.warmUp(m, model, warmBatch);
    } catch (RuntimeException e) {
      refuse(c, ShadowRefusal.CANNOT_LOAD, e.getMessage() == null ? e.toString() : e.getMessage(), key);
      return;
    }
    LoadedModel serving = holder.current();
    if (serving == null || serving.version() != champion) {
      return; // a swap happened while it loaded: the next round chooses again
    }
    if (!m.spec().inputFormat().equals(serving.spec().inputFormat())) {
      refuse(c, ShadowRefusal.OTHER_INPUT, "it takes " + m.spec().inputFormat() + ", the champion v" + champion + " "
          + serving.spec().inputFormat(), key);
      return;
    }
    log.info("loaded, verified and warmed candidate {} v{} (sha256 {}) for the shadow of v{} in {} ms", model, c.version(),
        m.manifest().sha256(), champion, Duration.ofNanos(System.nanoTime() - t0).toMillis());
    scorer.use(m, champion);
  }

  private void refuse(Candidate c, ShadowRefusal reason, String why, String key) {
    refused.add(key);
    metrics.shadowRefused(reason);
    log.warn("refused candidate {} v{} as the shadow of v{} ({}): {}; serving goes on without it", model, c.version(),
        c.parentVersion(), reason.tag(), why);
  }
}
