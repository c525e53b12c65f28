package dev.streamtune.trainer;

import dev.streamtune.core.Lifecycle;
import dev.streamtune.core.ServiceState;
import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.kafka.TopicReader;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.learn.Holdout;
import dev.streamtune.core.metrics.Metrics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.Dl4jRuntime;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.model.PromotionCheck;
import dev.streamtune.core.records.Candidate;
import dev.streamtune.core.records.Decision;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.records.Sample;
import dev.streamtune.core.records.TrainingSummary;
import dev.streamtune.trainer.internal.FailureReason;
import dev.streamtune.trainer.internal.LabelSets;
import dev.streamtune.trainer.internal.Leadership;
import dev.streamtune.trainer.internal.TrainerMeters;
import dev.streamtune.trainer.internal.TriggerPolicy;
import dev.streamtune.trainer.internal.UnlabelledPool;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The trainer: buffers labelled samples (never held-out ones), and on a drift signal for the serving version fine-tunes the
 * layers above the freeze boundary on new-domain samples plus class-balanced replay, saves the candidate to the model store and
 * announces it on {@code candidates}. Training runs off the consuming thread.
 *
 * <p>One active trainer per model, any number of standbys ({@link Leadership}: a consumer group whose partition-0 owner is
 * active). A standby reads everything the active one reads, adopts its candidates as its own attempts, and takes over when
 * the active trainer dies (after its session, {@value Leadership#SESSION_MS} ms) or stops.
 *
 * <p>Labels the champion does not know grow its head first ({@link HeadGrowth}; appended in the order they were first seen),
 * and the candidate's spec lists the grown label set. A retrain that fails (NaN or infinite loss or weights, out of memory, a
 * corrupt cached activation, any other error) stores nothing: it is counted in {@value TrainerMeters#FAILURES} by {@code reason}, logged in
 * one line and announced on {@code candidates} as a failed candidate ({@link Candidate#failure()}); the champion keeps
 * serving and the next drift signal can retrain again. A candidate the gate rejects while its parent still serves is retried,
 * up to {@code max-attempts} candidates per drift signal ({@value TrainerMeters#REJECTIONS} counts the rejections by what
 * followed): at once with one block less unfrozen when it forgot, else on {@code min-new-samples} more new-domain samples
 * ({@link #onDecision}).
 */
public final class TrainerService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TrainerService.class);
  private final TrainerConfig cfg;
  private final Clock clock;
  private final PrometheusMeterRegistry registry = Metrics.newRegistry("trainer");
  private final Lifecycle state = new Lifecycle("trainer");
  private final ExecutorService training = Executors.newSingleThreadExecutor(r -> new Thread(r, "trainer-fit"));
  private DirectoryModelStore store;
  private ReplayBuffer buffer;
  private TriggerPolicy policy;
  private KafkaConsumer<String, byte[]> consumer;
  private KafkaProducer<String, Candidate> candidates;
  private RejectedRecords rejected;
  private Thread loop;
  private Leadership leadership;
  private Thread leadershipThread;
  private ServiceHttp http;
  private volatile boolean running = true;
  private volatile Promotion champion;
  private Future<?> job;
  /** The boundary the next retrain freezes up to after the gate rejected a candidate for forgetting; null otherwise. */
  private String retryBoundary;
  /** The version of the last candidate this process announced (-1 before any): its rejection triggers a retry. */
  private volatile int lastCandidate = -1;
  /** 1 from a retrain's start until the loop has seen it end (and a new drift signal can arm the trigger again), else 0. */
  private final AtomicInteger retraining = new AtomicInteger();
  private Retrainer retrainer;
  private PromotionCheck promotionCheck;
  private TrainerMeters meters;
  private List<KafkaClientMetrics> clientMetrics = List.of();
  /** The latest served inputs for pseudo-labels; null when they are off (the inputs topic is then not read). */
  private UnlabelledPool unlabelled;
  /** Decodes buffered samples as the base model takes them (every version of a lineage takes the same input). */
  private Preprocessor input;

  public TrainerService(TrainerConfig cfg) {
    this(cfg, Clock.systemUTC());
  }

  public TrainerService(TrainerConfig cfg, Clock clock) {
    Dl4jRuntime.init();
    this.cfg = cfg;
    this.clock = clock;
  }

  /**
   * Checks the pinned freeze boundary against the stored model, creates missing topics and starts the loop.
   *
   * @throws ConfigException when {@code streamtune.trainer.freeze-boundary} names no layer of the stored model (the message
   *     lists its layers); before any Kafka work
   */
  public void start() {
    Topics t = cfg.common().topics();
    store = new DirectoryModelStore(cfg.common().storeDir());
    var base = store.base(cfg.common().model());
    String pinned = cfg.freezePolicy().pinned();
    if (pinned != null && !FreezePlan.freezesNothing(pinned) && base.isPresent()) {
      List<String> layers = base.get().spec().layers();
      if (!layers.contains(pinned) || pinned.equals(layers.get(layers.size() - 1))) {
        throw new ConfigException(TrainerConfig.FREEZE_BOUNDARY, pinned, (layers.contains(pinned)
            ? "freezing the top leaves nothing to train" : "is not a layer of " + cfg.common().model() + " v"
            + base.get().version()) + "; its layers are " + layers);
      }
    }
    KafkaSupport.ensureTopics(cfg.common().kafka(), t, cfg.common().partitions(), cfg.common().replication(),
        Duration.ofSeconds(60));
    retrainer = new Retrainer(cfg.cacheDir(), cfg.cacheMaxBytes(), cfg.cacheDiskMaxBytes(), cfg.epochs(), cfg.batchSize(),
        cfg.seed(), cfg.distill(), cfg.augment()).with(cfg.interpolation());
    int classes = base.map(m -> m.spec().labels().size()).orElse(FashionMnist.LABELS.size());
    input = Preprocessor.of(base.map(Manifest::spec).orElseGet(() -> Networks.spec(FashionMnist.SIDE, FashionMnist.LABELS,
        Networks.DEFAULT_FREEZE_BOUNDARY)));
    buffer = new ReplayBuffer(cfg.recentCapacity(), cfg.reservoirCapacity(), classes, cfg.seed());
    unlabelled = cfg.pseudo().off() ? null : new UnlabelledPool(cfg.pseudoPool());
    policy = new TriggerPolicy(cfg.minNewSamples(), cfg.cooldown(), cfg.maxWait(), cfg.maxAttempts());
    consumer = KafkaSupport.rawConsumer(cfg.common().kafka(), cfg.groupId(), null);
    candidates = KafkaSupport.producer(cfg.common().kafka(), cfg.groupId(), t.candidates);
    // the Kafka clients' own meters (records lag, send errors), as the Streams apps export theirs
    clientMetrics = List.of(new KafkaClientMetrics(consumer), new KafkaClientMetrics(candidates));
    clientMetrics.forEach(m -> m.bindTo(registry));
    rejected = new RejectedRecords(cfg.common().kafka(), cfg.groupId(), TopicReader.TRAINER, t, registry);
    promotionCheck = new PromotionCheck(store, registry, "trainer", cfg.common().model());
    meters = new TrainerMeters(cfg.common().model());
    meters.bindTo(registry);
    meters.bindVersion(registry, servingVersion()); // the base; each promotion read binds its version
    Gauge.builder(TrainerMeters.BUFFER_SAMPLES, buffer, ReplayBuffer::recentSize).tag("part", "recent").register(registry);
    Gauge.builder(TrainerMeters.BUFFER_SAMPLES, buffer, ReplayBuffer::reservoirSize).tag("part", "reservoir")
        .register(registry);
    Gauge.builder(TrainerMeters.CACHE_BYTES, retrainer, Retrainer::cacheMemoryBytes).register(registry);
    Gauge.builder(TrainerMeters.CACHE_DISK_BYTES, retrainer, Retrainer::cacheDiskBytes)
        .description("bytes of spilled frozen activations, bounded by " + TrainerConfig.CACHE_DISK_MAX).register(registry);
    Gauge.builder(TrainerMeters.RETRAIN_ACTIVE, retraining, AtomicInteger::get)
        .description("1 while a retrain runs; drift signals that arrive meanwhile do not arm another").register(registry);
    leadership = new Leadership(cfg.common().kafka(), cfg.groupId() + "-leadership", cfg.groupId() + "-" + cfg.common().model()
        + "-leader", t.candidates.name());
    Gauge.builder(TrainerMeters.ACTIVE, leadership, l -> l.active() ? 1 : 0)
        .description("1 on the model's active trainer, 0 on a standby").tag("model", cfg.common().model()).register(registry);
    leadershipThread = new Thread(leadership, "trainer-leadership");
    leadershipThread.setDaemon(true);
    leadershipThread.start();
    loop = new Thread(this::run, "trainer-loop");
    loop.setDaemon(true);
    loop.start();
    http = new ServiceHttp("trainer", cfg.host(), cfg.port(), 4, registry, state::get, cfg.common().httpTls());
    http.reportCause(state::cause);
    http.requireBearerToken(cfg.common().httpToken());
    http.start();
    log.info("trainer started for model {} (base v{}): HTTP on {}:{}, freeze boundary {}, min new samples {}, Kafka {}",
        cfg.common().model(), base.map(Manifest::version).orElse(-1), cfg.host(), http.port(), cfg.freezeBoundary(),
        cfg.minNewSamples(), cfg.common().bootstrap());
  }

  private void run() {
    Topics t = cfg.common().topics();
    try {
      // every record of samples, drift and promotions is re-read on start: the buffer and the champion are rebuilt, and a
      // drift signal counts only when it is newer than the champion's promotion; decisions matter live only (a retry follows
      // the rejection of a candidate this process trained)
      List<String> topics = new java.util.ArrayList<>(List.of(t.samples.name(), t.drift.name(), t.promotions.name(),
          t.decisions.name(), t.candidates.name()));
      if (unlabelled != null) {
        topics.add(t.inputs.name());
      }
      Map<TopicPartition, Long> ends = KafkaSupport.assignFromBeginning(consumer, topics, Duration.ofSeconds(30));
      if (unlabelled != null) {
        // only the latest served inputs matter to pseudo-labels: each partition's tail, as many as the pool holds
        Map<TopicPartition, Long> begins = consumer.beginningOffsets(ends.keySet());
        ends.forEach((tp, end) -> {
          if (tp.topic().equals(t.inputs.name())) {
            consumer.seek(tp, Math.max(begins.getOrDefault(tp, 0L), end - cfg.pseudoPool()));
          }
        });
      }
      boolean caughtUp = false;
      while (running) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          onRecord(r, caughtUp);
        }
        if (!caughtUp) {
          caughtUp = KafkaSupport.reached(consumer, ends);
          if (caughtUp) {
            state.to(ServiceState.RUNNING);
            log.info("trainer caught up: {} recent + {} reservoir samples buffered, serving version {}", buffer.recentSize(),
                buffer.reservoirSize(), servingVersion());
          }
          continue;
        }
        maybeRetrain();
      }
    } catch (WakeupException e) {
      if (running) {
        state.fail("the trainer loop was woken up while running", e);
      }
    } catch (RuntimeException e) {
      log.error("trainer loop stopped", e);
      state.fail("the trainer loop stopped", e);
    }
  }

  private void onRecord(ConsumerRecord<String, byte[]> r, boolean live) {
    Topics t = cfg.common().topics();
    try {
      if (r.topic().equals(t.samples.name())) {
        if (r.key() == null) {
          // ingest keys every sample by its id; a record without one cannot be held out or replayed by id: not silently lost
          rejected.reject(r, "sample without a key; the key must be the sample id");
          return;
        }
        if (Holdout.isHeldOut(r.key(), cfg.common().holdoutShare())) {
          return;
        }
        Sample s = Json.fromBytes(r.value(), Sample.class);
        float[] px = input.decode(s.image());
        buffer.add(new ReplayBuffer.Item(s.id(), s.timestamp(), s.label(), s.domain(), px));
        registry.counter(TrainerMeters.SAMPLES_BUFFERED).increment();
      } else if (unlabelled != null && r.topic().equals(t.inputs.name())) {
        onInput(r);
      } else if (r.topic().equals(t.promotions.name())) {
        if (r.value() != null) {
          Promotion p = Json.fromBytes(r.value(), Promotion.class);
          if (p.model().equals(cfg.common().model()) && promotionCheck.accept(p, cfg.common().model())) {
            champion = p;
            meters.bindVersion(registry, p.version());
            policy.onPromotion(p.version());
            retryBoundary = null; // a forgetting retry answered the old champion's drift
          }
        }
      } else if (r.topic().equals(t.candidates.name())) {
        onCandidate(Json.fromBytes(r.value(), Candidate.class));
      } else if (r.topic().equals(t.decisions.name())) {
        onDecision(Json.fromBytes(r.value(), Decision.class), live);
      } else if (r.topic().equals(t.drift.name())) {
        DriftSignal d = Json.fromBytes(r.value(), DriftSignal.class);
        if (!d.model().equals(cfg.common().model())) {
          return;
        }
        if (!live && champion != null && d.detectedAt().isBefore(champion.timestamp())) {
          return;
        }
        boolean newSuspicion = policy.suspected().isEmpty();
        TriggerPolicy.Reaction reaction = policy.onDrift(d, servingVersion(), clock.instant());
        if (live && reaction == TriggerPolicy.Reaction.SUSPECTED && newSuspicion) {
          TrainerMeters.suspicions(registry, d.model(), d.version(), "suspected").increment();
        }
        log.info("drift signal model={} version={} detector={} onset={}: {}", d.model(), d.version(), d.detector(), d.onset(),
            reaction);
      }
    } catch (RecordFormatException | ImageFormatException e) {
      rejected.reject(r, e.getMessage());
    }
  }

  /** A served input for pseudo-labels, kept as served: decoded only by a retrain that uses it ({@link #decodeServed}). */
  private void onInput(ConsumerRecord<String, byte[]> r) {
    if (r.key() == null || r.value() == null) {
      registry.counter(TrainerMeters.INPUTS_SKIPPED, "reason", "no key or value").increment();
      return;
    }
    unlabelled.add(new UnlabelledPool.Input(r.key(), Instant.ofEpochMilli(r.timestamp()), r.value()));
  }

  /**
   * The served inputs a retrain may pseudo-label, decoded as the model takes them. One that does not decode is counted and left
   * out, not rejected: ingest owns the inputs topic's rejections (it joins the same records with feedback).
   */
  private Map.Entry<List<String>, List<float[]>> decodeServed(List<UnlabelledPool.Input> served) {
    List<String> ids = new java.util.ArrayList<>(served.size());
    List<float[]> images = new java.util.ArrayList<>(served.size());
    for (UnlabelledPool.Input x : served) {
      try {
        images.add(input.decode(x.image()));
        ids.add(x.id());
      } catch (ImageFormatException e) {
        registry.counter(TrainerMeters.INPUTS_SKIPPED, "reason", "not an image of the model's input").increment();
        log.debug("served input {} left out of pseudo-labels: {}", x.id(), e.getMessage());
      }
    }
    return Map.entry(ids, images);
  }

  /**
   * A candidate of this model that another trainer made (the active one, or the one before a restart) for the version serving:
   * it answered the armed signal, so this trainer does not retrain it again, and a rejection of it is retried here.
   */
  private void onCandidate(Candidate c) {
    if (!c.model().equals(cfg.common().model()) || c.failure() != null || c.version() <= lastCandidate
        || c.parentVersion() != servingVersion() || job != null) {
      return;
    }
    policy.armed().ifPresent(d -> {
      policy.adopt(buffer.since(d.onset()).size(), clock.instant());
      log.info("candidate model={} version={} answers drift {} on v{}: adopted", c.model(), c.version(), d.detector(),
          d.version());
    });
    lastCandidate = c.version();
  }

  /**
   * A live REJECT of the last candidate this trainer made: the drift is still unanswered, so retry. A candidate that gained on
   * the new domain but lost on the earlier ones forgot: the retry freezes one block more ({@link #shallower}) on the samples at
   * hand, at once; any other rejection waits for {@code min-new-samples} more new-domain samples.
   */
  private void onDecision(Decision d, boolean live) {
    if (!live || d.verdict() != Decision.Verdict.REJECT || !d.model().equals(cfg.common().model())
        || d.candidate().version() != lastCandidate) {
      return;
    }
    int attempts = policy.attempts();
    String shallower = null;
    // a boundary pinned by config is the user's choice: its retries wait for more samples as any other
    if (cfg.freezePolicy().pinned() == null && d.champion() != null
        && d.candidate().recentAccuracy() > d.champion().recentAccuracy()
        && d.candidate().guardAccuracy() < d.champion().guardAccuracy()) {
      shallower = store.manifest(d.model(), d.candidate().version())
          .map(m -> shallower(m.spec().boundaries(), m.training().freezeBoundary())).orElse(null);
    }
    TriggerPolicy.Reaction reaction = policy.onRejected(servingVersion(), clock.instant(), shallower != null);
    TrainerMeters.rejections(registry, d.model(), d.champion() == null ? servingVersion() : d.champion().version(), reaction)
        .increment();
    if (reaction == TriggerPolicy.Reaction.RETRY && shallower != null) {
      retryBoundary = shallower;
      log.info("gate rejected candidate model={} version={} ({}): it forgot (guard {} -> {}), retrying on the same samples "
          + "frozen up to {} (attempt {} of {})", d.model(), d.candidate().version(), d.reason(),
          String.format("%.4f", d.champion().guardAccuracy()), String.format("%.4f", d.candidate().guardAccuracy()), shallower,
          attempts + 1, cfg.maxAttempts());
    } else if (reaction == TriggerPolicy.Reaction.RETRY) {
      retryBoundary = null;
      log.info("gate rejected candidate model={} version={} ({}): retrying on {} more new-domain samples (attempt {} of {})",
          d.model(), d.candidate().version(), d.reason(), cfg.minNewSamples(), attempts + 1, cfg.maxAttempts());
    } else {
      log.info("gate rejected candidate model={} version={} ({}): {}", d.model(), d.candidate().version(), d.reason(),
          reaction == TriggerPolicy.Reaction.GIVEN_UP ? "no retry, " + attempts + " candidates for this drift signal"
              : "no retry (" + reaction + ")");
    }
  }

  /**
   * The boundary one block above {@code boundary} in {@code boundaries} (top first: head only, dense top, deeper), i.e. one
   * block less to train; null when {@code boundary} is already the top one or not declared.
   */
  static String shallower(List<String> boundaries, String boundary) {
    int i = FreezePlan.freezesNothing(boundary) ? boundaries.size() : boundaries.indexOf(boundary);
    return i <= 0 ? null : boundaries.get(i - 1);
  }

  private int servingVersion() {
    if (champion != null) {
      return champion.version();
    }
    return store.base(cfg.common().model()).map(Manifest::version).orElse(-1);
  }

  private void maybeRetrain() {
    if (job != null) {
      if (!job.isDone()) {
        return;
      }
      job = null;
      policy.finished(clock.instant());
      retraining.set(0);
    }
    if (policy.armed().isEmpty()) {
      policy.suspected().ifPresent(this::checkSuspected);
    }
    if (!leadership.active()) {
      return; // a standby: keeps its buffer and trigger in step, trains once it is the active trainer
    }
    DriftSignal armed = policy.armed().orElse(null);
    if (armed == null) {
      return;
    }
    // counted on every poll while armed; the samples themselves are gathered only when a retrain is due
    policy.due(buffer.countSince(armed.onset()), clock.instant()).ifPresent(d -> {
      List<ReplayBuffer.Item> fresh = buffer.since(armed.onset());
      int replayCount = cfg.replayCount(fresh.size());
      List<ReplayBuffer.Item> replay = buffer.replay(d.onset(), replayCount, cfg.seed() + fresh.size());
      int serving = servingVersion();
      String sha = champion != null ? champion.sha256() : null;
      List<String> labelOrder = buffer.labelsInArrivalOrder();
      retraining.set(1);
      String pinned = retryBoundary;
      retryBoundary = null;
      List<UnlabelledPool.Input> served = unlabelled == null ? List.of() : unlabelled.since(d.onset(),
          fresh.stream().map(ReplayBuffer.Item::id).collect(java.util.stream.Collectors.toSet()), cfg.pseudoPool());
      job = training.submit(() -> retrain(d, serving, sha, fresh, replay, labelOrder, pinned, served));
    });
  }

  /** Labelled samples since a suspected onset before labels can confirm it, and how many more between two checks. */
  static final int CONFIRM_SAMPLES = 30;
  /** Earlier samples the champion's accuracy before the onset is measured on. */
  static final int CONFIRM_BEFORE = 300;
  /** A one-sided z-test: accuracy since the onset lower than before at p &lt; 0.01. */
  static final double CONFIRM_Z = 2.326;
  /**
   * What is known of the suspicion being checked: the fresh samples it was last checked on (checks every
   * {@link #CONFIRM_SAMPLES} more), and the champion's accuracy on the earlier samples (measured once: they do not change).
   */
  private record Suspicion(DriftSignal signal, int checkedAt, double before, int beforeCount) {}

  private Suspicion suspicion;
  private LoadedModel confirmModel;

  /**
   * A label-free signal is a suspicion until labels confirm it: once {@link #CONFIRM_SAMPLES} labelled samples arrived since its
   * onset, the champion's accuracy on the latest {@link #CONFIRM_BEFORE} of them is compared with its accuracy on up to as many
   * earlier samples, and a drop (one-sided z-test, p &lt; 0.01) arms the trigger with that signal and onset. Without a drop in
   * labelled samples up to {@code 2 × max-wait} after the alarm (event time), it is dismissed.
   */
  private void checkSuspected(DriftSignal s) {
    if (suspicion == null || suspicion.signal() != s) {
      suspicion = new Suspicion(s, 0, Double.NaN, 0);
    }
    List<ReplayBuffer.Item> fresh = buffer.since(s.onset());
    // in event time: labelled samples from 2 x max-wait after the alarm and still no drop, or a signal replayed from long ago
    Instant latest = fresh.stream().map(ReplayBuffer.Item::at).max(Instant::compareTo).orElse(s.detectedAt());
    if (Duration.between(s.detectedAt(), latest).compareTo(cfg.maxWait().multipliedBy(2)) > 0) {
      log.info("suspected drift model={} v{} ({} at {}) not confirmed by labels within {}: dismissed", s.model(), s.version(),
          s.detector(), s.detectedAt(), cfg.maxWait().multipliedBy(2));
      policy.dismiss();
      TrainerMeters.suspicions(registry, s.model(), s.version(), "dismissed").increment();
      return;
    }
    if (fresh.size() < suspicion.checkedAt() + CONFIRM_SAMPLES) {
      return;
    }
    suspicion = new Suspicion(s, fresh.size(), suspicion.before(), suspicion.beforeCount());
    try {
      int serving = servingVersion();
      if (confirmModel == null || confirmModel.version() != serving) {
        confirmModel = store.load(cfg.common().model(), serving, champion != null ? champion.sha256() : null);
      }
      if (Double.isNaN(suspicion.before())) {
        List<ReplayBuffer.Item> before = buffer.replay(s.onset(), CONFIRM_BEFORE, cfg.seed());
        if (before.size() < CONFIRM_SAMPLES) {
          return;
        }
        suspicion = new Suspicion(s, fresh.size(), accuracy(confirmModel, before), before.size());
      }
      List<ReplayBuffer.Item> recent = fresh.subList(Math.max(0, fresh.size() - CONFIRM_BEFORE), fresh.size());
      double now = accuracy(confirmModel, recent);
      double earlier = suspicion.before();
      int n = recent.size();
      int m = suspicion.beforeCount();
      double pooled = (now * n + earlier * m) / (n + m);
      double z = (earlier - now) / Math.sqrt(Math.max(1e-12, pooled * (1 - pooled) * (1.0 / n + 1.0 / m)));
      if (z > CONFIRM_Z) {
        TriggerPolicy.Reaction r = policy.confirm(clock.instant());
        TrainerMeters.suspicions(registry, s.model(), s.version(), "confirmed").increment();
        log.info("labels confirm suspected drift model={} v{} ({} at {}): accuracy {} on the latest {} labelled samples since its "
            + "onset {} against {} on {} before (z {}): {}", s.model(), s.version(), s.detector(), s.detectedAt(),
            String.format("%.3f", now), n, s.onset(), String.format("%.3f", earlier), m, String.format("%.1f", z), r);
      } else {
        log.debug("suspected drift model={} v{}: accuracy {} on {} since the onset against {} before (z {}): not confirmed yet",
            s.model(), s.version(), String.format("%.3f", now), n, String.format("%.3f", earlier), String.format("%.1f", z));
      }
    } catch (RuntimeException e) {
      log.warn("cannot check suspected drift model={} v{}: {}", s.model(), s.version(), e.toString());
    }
  }

  /** The champion's accuracy on buffered samples (a label it does not know is a wrong answer). */
  private double accuracy(LoadedModel m, List<ReplayBuffer.Item> items) {
    List<String> labels = m.spec().labels();
    List<float[]> images = items.stream().map(ReplayBuffer.Item::pixels).toList();
    int[] idx = items.stream().mapToInt(i -> labels.indexOf(i.label())).toArray();
    return Networks.accuracy(m.network(), Preprocessor.of(m.spec()), images, idx);
  }

  /**
   * One retrain off the loop thread. {@code retryBoundary}: the boundary the gate's forgetting rejection asked for (null: the
   * freeze policy chooses).
   */
  private void retrain(DriftSignal d, int championVersion, String championSha, List<ReplayBuffer.Item> fresh,
      List<ReplayBuffer.Item> replay, List<String> labelOrder, String retryBoundary, List<UnlabelledPool.Input> served) {
    String model = cfg.common().model();
    Timer.Sample timer = Timer.start(registry);
    long trainStart = System.nanoTime();
    String outcome = "failed";
    String trigger = String.format("drift %s on v%d at %s (statistic %.1f)", d.detector(), d.version(), d.detectedAt(),
        d.statistic());
    TrainingSet set = TrainingSet.of(fresh, replay);
    FreezePlan plan = null;
    String growth = null;
    try {
      LoadedModel champ = store.load(model, championVersion, championSha);
      ModelSpec spec = champ.spec();
      // labels are append-only: the champion's keep their output units, classes new to it get units after them
      List<String> labelSet = LabelSets.grow(spec.labels(), labelOrder, set.byClass().keySet());
      Network toTrain = champ.network();
      if (labelSet.size() > spec.labels().size()) {
        toTrain = HeadGrowth.grow(toTrain, labelSet.size(), cfg.seed());
        growth = grown(champ, labelSet);
      }
      List<float[]> images = set.images();
      int[] labelArray = set.labels(labelSet);
      plan = retryBoundary != null && spec.boundaries().contains(retryBoundary)
          ? new FreezePlan(retryBoundary, cfg.freezePolicy().headRate(), cfg.freezePolicy().lowerRateFactor(),
              "retry after the gate found the last candidate forgot earlier domains: one block less unfrozen, up to "
                  + retryBoundary)
          : plan(champ, d, images, labelArray, fresh.size());
      String reason = growth == null ? plan.reason() : growth + "; " + plan.reason();
      log.info("retraining model={} from v{}: {} new-domain + {} replay samples, {} epochs, freeze up to {} ({})", model,
          championVersion, fresh.size(), replay.size(), cfg.epochs(), plan.boundary(), reason);
      Retrainer.PseudoResult pr = fineTune(champ, toTrain, plan, set.ids(), images, labelArray, fresh.size(), served);
      FineTuner.Result r = pr.result();
      String pseudo = pr.selection() == null ? null : pr.selection().describe();
      if (pseudo != null) {
        registry.counter(TrainerMeters.PSEUDO_LABELS).increment(pr.selection().count());
        log.info("model={} from v{}: {}", model, championVersion, pseudo);
      }
      if (!Double.isFinite(r.loss())) {
        throw new TrainingDivergedException("fine-tune ended with loss " + r.loss());
      }
      // the whole fine-tune: frozen activations (cached or computed) and training
      long trainMs = (System.nanoTime() - trainStart) / 1_000_000;
      int trained = images.size() + (pr.selection() == null ? 0 : pr.selection().count());
      TrainingSummary summary = new TrainingSummary(trigger, trained, set.byClass(), set.byDomain(), set.from(), set.to(),
          r.epochs(),
          cfg.batchSize(), plan.boundary(), r.layersTrained(), plan.headRate(), r.loss(), Networks.device(), trainMs,
          r.layerRates(), reason, r.cachedFeatureHits(), replay.isEmpty() ? 0.0 : cfg.distill(), cfg.augment().describe(),
          pseudo, r.interpolation());
      ModelSpec candidateSpec = spec.withLabels(labelSet).withFreezeBoundary(plan.boundary());
      Manifest m = store.save(model, r.model().model(), candidateSpec, championVersion, summary, Map.of());
      Candidate c = new Candidate(Versioned.CURRENT, model, m.version(), store.uri(model, m.version()), m.sha256(),
          championVersion, summary, clock.instant()).answering(d);
      lastCandidate = m.version();
      candidates.send(new ProducerRecord<>(cfg.common().topics().candidates.name(), model, c)).get();
      outcome = "candidate";
      TrainerMeters.retrainSamples(registry, model, championVersion).record(trained);
      TrainerMeters.retrainLayers(registry, model, championVersion).record(r.layersTrained().size());
      log.info("candidate model={} version={} trained in {} ms on {} samples, loss {}, layer rates {}, labels {}", model,
          m.version(), trainMs, trained, String.format("%.4f", r.loss()), r.layerRates(), labelSet.size());
    } catch (InterruptedException e) {
      outcome = "interrupted";
      Thread.currentThread().interrupt();
    } catch (Exception | OutOfMemoryError e) {
      long ms = (System.nanoTime() - trainStart) / 1_000_000;
      String reason = plan == null ? null : growth == null ? plan.reason() : growth + "; " + plan.reason();
      TrainingSummary attempt = new TrainingSummary(trigger, set.items().size(), set.byClass(), set.byDomain(), set.from(),
          set.to(), cfg.epochs(),
          cfg.batchSize(), plan == null ? cfg.freezeBoundary() : plan.boundary(), List.of(),
          plan == null ? cfg.learningRate() : plan.headRate(), Double.NaN, Networks.device(), ms, null, reason, null);
      failed(model, championVersion, attempt, e);
    } finally {
      timer.stop(TrainerMeters.retrainDuration(registry, model, championVersion, outcome));
      TrainerMeters.retrains(registry, model, championVersion, outcome).increment();
    }
  }

  /** Counts and logs a head growth; its words for the training summary. */
  private String grown(LoadedModel champ, List<String> labelSet) {
    List<String> labels = champ.spec().labels();
    List<String> added = labelSet.subList(labels.size(), labelSet.size());
    String growth = String.format("head grown from %d to %d labels (new: %s)", labels.size(), labelSet.size(),
        String.join(", ", added));
    TrainerMeters.headGrowths(registry, champ.model(), champ.version()).increment();
    log.info("model={} v{}: {} new label(s) in the training samples: {}", champ.model(), champ.version(), added.size(), growth);
    return growth;
  }

  /** A retrain's samples, new-domain first then replayed, with what the training summary says of them. */
  private record TrainingSet(List<ReplayBuffer.Item> items, Map<String, Integer> byClass, Map<String, Integer> byDomain,
      Instant from, Instant to) {
    static TrainingSet of(List<ReplayBuffer.Item> fresh, List<ReplayBuffer.Item> replay) {
      List<ReplayBuffer.Item> all = new ArrayList<>(fresh);
      all.addAll(replay);
      Map<String, Integer> byClass = new TreeMap<>();
      Map<String, Integer> byDomain = new TreeMap<>();
      Instant from = null;
      Instant to = null;
      for (ReplayBuffer.Item i : all) {
        byClass.merge(i.label(), 1, Integer::sum);
        byDomain.merge(i.domain(), 1, Integer::sum);
        from = from == null || i.at().isBefore(from) ? i.at() : from;
        to = to == null || i.at().isAfter(to) ? i.at() : to;
      }
      return new TrainingSet(all, byClass, byDomain, from, to);
    }

    List<float[]> images() {
      return items.stream().map(ReplayBuffer.Item::pixels).toList();
    }

    List<String> ids() {
      return items.stream().map(ReplayBuffer.Item::id).toList();
    }

    /** Label indices in {@code labelSet}. */
    int[] labels(List<String> labelSet) {
      return items.stream().mapToInt(i -> labelSet.indexOf(i.label())).toArray();
    }
  }

  /**
   * A retrain failed: nothing was stored, the champion keeps serving. Counts it, logs one line and announces it on
   * {@code candidates} as a failed candidate, so the gate and operators see it; the trainer goes on.
   */
  private void failed(String model, int championVersion, TrainingSummary attempt, Throwable e) {
    FailureReason reason = FailureReason.of(e);
    String text = reason.tag() + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage());
    TrainerMeters.failures(registry, model, championVersion, reason).increment();
    if (reason == FailureReason.ERROR) {
      // an unexpected error: its stack trace is the only clue to the bug
      log.error("retrain of model={} from v{} failed, no candidate, v{} keeps serving: {}", model, championVersion,
          championVersion, text, e);
    } else {
      log.warn("retrain of model={} from v{} failed, no candidate, v{} keeps serving: {}", model, championVersion,
          championVersion, text);
    }
    try {
      Candidate c = Candidate.failed(model, championVersion, attempt, clock.instant(), text);
      candidates.send(new ProducerRecord<>(cfg.common().topics().candidates.name(), model, c)).get();
    } catch (InterruptedException ie) {
      Thread.currentThread().interrupt();
    } catch (Exception pe) {
      // the failure is counted and logged; a broker that cannot take the record does not stop the trainer either
      log.error("cannot publish the failed retrain of model={} from v{}: {}", model, championVersion, pe.toString());
    }
  }

  /**
   * {@link Retrainer#retrain} for the champion, counting and logging the feature cache's part; samples {@code replayFrom..} are
   * the replayed ones.
   */
  private Retrainer.PseudoResult fineTune(LoadedModel champ, Network toTrain, FreezePlan plan, List<String> ids,
      List<float[]> images, int[] labels, int replayFrom, List<UnlabelledPool.Input> served) {
    String backbone = Retrainer.backboneKey(champ.model(), champ.version(), champ.manifest().sha256(), plan.boundary());
    Map.Entry<List<String>, List<float[]>> decoded = decodeServed(served);
    return retrainer.retrainWithPseudoLabels(champ.network(), backbone, toTrain, champ.spec(), plan, ids, images, labels,
        replayFrom, decoded.getKey(), decoded.getValue(), cfg.pseudo(), (features, ms) -> {
      registry.counter(TrainerMeters.FEATURE_CACHE, "result", "hit").increment(features.hits());
      registry.counter(TrainerMeters.FEATURE_CACHE, "result", "miss").increment(features.computed());
      registry.counter(TrainerMeters.FEATURE_CACHE, "result", "corrupt").increment(features.corrupt());
      log.info("frozen activations for model={} v{} up to {}: {} from memory, {} from disk, {} computed ({} corrupt) in {} ms",
          champ.model(), champ.version(), plan.boundary(), features.memoryHits(), features.diskHits(), features.computed(),
          features.corrupt(), ms);
    });
  }

  /**
   * The freeze plan for a retrain. The champion's accuracy on the new domain is measured on the fresh training samples (the
   * first {@code freshCount} images) when there are any, else taken from the drift signal; its accuracy before the shift comes
   * from the signal, else from the replayed earlier samples.
   */
  private FreezePlan plan(LoadedModel champion, DriftSignal d, List<float[]> images, int[] labels, int freshCount) {
    Preprocessor pre = Preprocessor.of(champion.spec());
    FreezePolicy policy = cfg.freezePolicy();
    List<String> boundaries = champion.spec().boundaries();
    if (policy.pinned() != null) {
      return policy.choose(boundaries, freshCount, Double.NaN, Double.NaN);
    }
    double now = d.accuracyRecent();
    if (freshCount > 0) {
      now = Networks.accuracy(champion.network(), pre, images.subList(0, freshCount),
          java.util.Arrays.copyOfRange(labels, 0, freshCount));
    }
    double before = d.accuracyBefore();
    if (!Double.isFinite(before) && freshCount < images.size()) {
      before = Networks.accuracy(champion.network(), pre, images.subList(freshCount, images.size()),
          java.util.Arrays.copyOfRange(labels, freshCount, labels.length));
    }
    return policy.choose(boundaries, freshCount, before, now);
  }

  public ServiceState state() {
    return state.get();
  }

  public int port() {
    return http.port();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  @Override
  public void close() {
    state.to(ServiceState.DRAINING);
    running = false;
    if (http != null) {
      http.close();
    }
    if (consumer != null) {
      consumer.wakeup();
    }
    if (leadership != null) {
      leadership.close(); // leaves the group: a standby takes over at once
      try {
        leadershipThread.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    if (loop != null) {
      try {
        loop.join(10_000);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
    training.shutdownNow();
    if (consumer != null) {
      consumer.close();
    }
    if (candidates != null) {
      candidates.close();
    }
    if (rejected != null) {
      rejected.close();
    }
    clientMetrics.forEach(KafkaClientMetrics::close);
    state.to(ServiceState.STOPPED);
  }
}
