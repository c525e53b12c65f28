package dev.streamtune.trainer;

import dev.streamtune.core.ServiceState;
import dev.streamtune.core.http.ServiceHttp;
import dev.streamtune.core.image.FashionMnist;
import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Images;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.learn.Holdout;
import dev.streamtune.core.metrics.Metrics;
import dev.streamtune.core.model.DirectoryModelStore;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.records.Candidate;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.records.Sample;
import dev.streamtune.core.records.TrainingSummary;
import dev.streamtune.trainer.internal.ReplayBuffer;
import dev.streamtune.trainer.internal.TriggerPolicy;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
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
import java.util.concurrent.atomic.AtomicReference;
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
 * announces it on {@code candidates}. One active trainer per model. Training runs off the consuming thread.
 */
public final class TrainerService implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TrainerService.class);
  private final TrainerConfig cfg;
  private final Clock clock;
  private final PrometheusMeterRegistry registry = Metrics.newRegistry("trainer");
  private final AtomicReference<ServiceState> state = new AtomicReference<>(ServiceState.STARTING);
  private final ExecutorService training = Executors.newSingleThreadExecutor(r -> new Thread(r, "trainer-fit"));
  private DirectoryModelStore store;
  private ReplayBuffer buffer;
  private TriggerPolicy policy;
  private KafkaConsumer<String, byte[]> consumer;
  private KafkaProducer<String, Candidate> candidates;
  private RejectedRecords rejected;
  private Thread loop;
  private ServiceHttp http;
  private volatile boolean running = true;
  private volatile Promotion champion;
  private Future<?> job;
  private FeatureCache featureCache;
  private int imageHeight;
  private int imageWidth;

  public TrainerService(TrainerConfig cfg) {
    this(cfg, Clock.systemUTC());
  }

  public TrainerService(TrainerConfig cfg, Clock clock) {
    this.cfg = cfg;
    this.clock = clock;
  }

  public void start() {
    Topics t = cfg.common().topics();
    KafkaSupport.ensureTopics(cfg.common().bootstrap(), t, cfg.common().partitions(), cfg.common().replication(),
        Duration.ofSeconds(60));
    store = new DirectoryModelStore(cfg.common().storeDir());
    featureCache = new FeatureCache(cfg.cacheDir(), cfg.cacheMaxBytes());
    var base = store.base(cfg.common().model());
    int classes = base.map(m -> m.spec().labels().size()).orElse(FashionMnist.LABELS.size());
    imageHeight = base.map(m -> m.spec().height()).orElse(FashionMnist.SIDE);
    imageWidth = base.map(m -> m.spec().width()).orElse(FashionMnist.SIDE);
    buffer = new ReplayBuffer(cfg.recentCapacity(), cfg.reservoirCapacity(), classes, cfg.seed());
    policy = new TriggerPolicy(cfg.minNewSamples(), cfg.cooldown(), cfg.maxWait());
    consumer = KafkaSupport.rawConsumer(cfg.common().bootstrap(), cfg.groupId(), null);
    candidates = KafkaSupport.producer(cfg.common().bootstrap(), cfg.groupId(), t.candidates);
    rejected = new RejectedRecords(cfg.common().bootstrap(), cfg.groupId(), t, registry);
    Gauge.builder("streamtune.trainer.buffer.samples", buffer, ReplayBuffer::recentSize).tag("part", "recent").register(registry);
    Gauge.builder("streamtune.trainer.buffer.samples", buffer, ReplayBuffer::reservoirSize).tag("part", "reservoir")
        .register(registry);
    Gauge.builder("streamtune.trainer.feature.cache.bytes", featureCache, FeatureCache::memoryBytes).register(registry);
    loop = new Thread(this::run, "trainer-loop");
    loop.setDaemon(true);
    loop.start();
    http = new ServiceHttp("trainer", cfg.host(), cfg.port(), 4, registry, state::get);
    http.start();
    log.info("trainer started: http port {}, freeze boundary {}, min new samples {}", http.port(), cfg.freezeBoundary(),
        cfg.minNewSamples());
  }

  private void run() {
    Topics t = cfg.common().topics();
    try {
      // every record of samples, drift and promotions is re-read on start: the buffer and the champion are rebuilt, and a
      // drift signal counts only when it is newer than the champion's promotion
      Map<TopicPartition, Long> ends = KafkaSupport.assignFromBeginning(consumer,
          List.of(t.samples.name(), t.drift.name(), t.promotions.name()), Duration.ofSeconds(30));
      boolean caughtUp = false;
      while (running) {
        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          onRecord(r, caughtUp);
        }
        if (!caughtUp) {
          caughtUp = KafkaSupport.reached(consumer, ends);
          if (caughtUp) {
            state.compareAndSet(ServiceState.STARTING, ServiceState.RUNNING);
            log.info("trainer caught up: {} recent + {} reservoir samples buffered, serving version {}", buffer.recentSize(),
                buffer.reservoirSize(), servingVersion());
          }
          continue;
        }
        maybeRetrain();
      }
    } catch (WakeupException e) {
      if (running) {
        state.set(ServiceState.FAILED);
      }
    } catch (RuntimeException e) {
      log.error("trainer loop stopped", e);
      state.set(ServiceState.FAILED);
    }
  }

  private void onRecord(ConsumerRecord<String, byte[]> r, boolean live) {
    Topics t = cfg.common().topics();
    try {
      if (r.topic().equals(t.samples.name())) {
        if (r.key() == null || Holdout.isHeldOut(r.key(), cfg.common().holdoutShare())) {
          return;
        }
        Sample s = Json.fromBytes(r.value(), Sample.class);
        float[] px = Images.decode(s.image(), imageHeight, imageWidth);
        buffer.add(new ReplayBuffer.Item(s.id(), s.timestamp(), s.label(), s.domain(), px));
        registry.counter("streamtune.trainer.samples.buffered").increment();
      } else if (r.topic().equals(t.promotions.name())) {
        if (r.value() != null) {
          Promotion p = Json.fromBytes(r.value(), Promotion.class);
          if (p.model().equals(cfg.common().model())) {
            champion = p;
            policy.onPromotion(p.version());
          }
        }
      } else if (r.topic().equals(t.drift.name())) {
        DriftSignal d = Json.fromBytes(r.value(), DriftSignal.class);
        if (!d.model().equals(cfg.common().model())) {
          return;
        }
        if (!live && champion != null && d.detectedAt().isBefore(champion.timestamp())) {
          return;
        }
        TriggerPolicy.Reaction reaction = policy.onDrift(d, servingVersion(), clock.instant());
        log.info("drift signal model={} version={} detector={} onset={}: {}", d.model(), d.version(), d.detector(), d.onset(),
            reaction);
      }
    } catch (RecordFormatException | ImageFormatException e) {
      rejected.reject(r, e.getMessage());
    }
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
    }
    DriftSignal armed = policy.armed().orElse(null);
    if (armed == null) {
      return;
    }
    List<ReplayBuffer.Item> fresh = buffer.since(armed.onset());
    policy.due(fresh.size(), clock.instant()).ifPresent(d -> {
      int replayCount = (int) Math.round(fresh.size() * cfg.replayRatio());
      List<ReplayBuffer.Item> replay = buffer.replay(d.onset(), replayCount, cfg.seed() + fresh.size());
      int serving = servingVersion();
      String sha = champion != null ? champion.sha256() : null;
      job = training.submit(() -> retrain(d, serving, sha, fresh, replay));
    });
  }

  private void retrain(DriftSignal d, int championVersion, String championSha, List<ReplayBuffer.Item> fresh,
      List<ReplayBuffer.Item> replay) {
    String model = cfg.common().model();
    Timer.Sample timer = Timer.start(registry);
    String outcome = "failed";
    try {
      LoadedModel champ = store.load(model, championVersion, championSha);
      ModelSpec spec = champ.spec();
      List<ReplayBuffer.Item> all = new ArrayList<>(fresh);
      all.addAll(replay);
      List<float[]> images = new ArrayList<>(all.size());
      List<String> ids = new ArrayList<>(all.size());
      List<Integer> labels = new ArrayList<>(all.size());
      Map<String, Integer> byClass = new TreeMap<>();
      Map<String, Integer> byDomain = new TreeMap<>();
      Instant from = null;
      Instant to = null;
      for (ReplayBuffer.Item i : all) {
        int label = spec.labelIndex(i.label());
        if (label < 0) {
          continue;
        }
        images.add(i.pixels());
        ids.add(i.id());
        labels.add(label);
        byClass.merge(i.label(), 1, Integer::sum);
        byDomain.merge(i.domain(), 1, Integer::sum);
        from = from == null || i.at().isBefore(from) ? i.at() : from;
        to = to == null || i.at().isAfter(to) ? i.at() : to;
      }
      int[] labelArray = labels.stream().mapToInt(Integer::intValue).toArray();
      int freshCount = countFresh(all, fresh.size(), spec);
      FreezePlan plan = plan(champ.network(), d, images, labelArray, freshCount);
      log.info("retraining model={} from v{}: {} new-domain + {} replay samples, {} epochs, freeze up to {} ({})", model,
          championVersion, fresh.size(), replay.size(), cfg.epochs(), plan.boundary(), plan.reason());
      FineTuner.Result r;
      long trainStart = System.nanoTime();
      if (plan.boundary().equals("none")) {
        r = FineTuner.fineTune(champ.network(), plan, cfg.epochs(), cfg.batchSize(), images, labelArray, spec.height(),
            cfg.seed());
      } else {
        String backbone = FeatureCache.backboneKey(model, championVersion, champ.manifest().sha256(), plan.boundary());
        long t0 = System.nanoTime();
        FeatureCache.Lookup features = featureCache.features(backbone, champ.network(), plan.boundary(), ids, images,
            spec.height(), 256);
        long featureMs = (System.nanoTime() - t0) / 1_000_000;
        registry.counter("streamtune.trainer.feature.cache", "result", "hit").increment(features.hits());
        registry.counter("streamtune.trainer.feature.cache", "result", "miss").increment(features.computed());
        registry.counter("streamtune.trainer.feature.cache", "result", "corrupt").increment(features.corrupt());
        r = FineTuner.fineTuneFromFeatures(champ.network(), plan, cfg.epochs(), cfg.batchSize(), features.features(), labelArray,
            spec.height(), cfg.seed()).withCachedFeatureHits(features.hits());
        log.info("frozen activations for model={} v{} up to {}: {} from memory, {} from disk, {} computed ({} corrupt) in {} ms",
            model, championVersion, plan.boundary(), features.memoryHits(), features.diskHits(), features.computed(),
            features.corrupt(), featureMs);
      }
      // the whole fine-tune: frozen activations (cached or computed) and training
      long trainMs = (System.nanoTime() - trainStart) / 1_000_000;
      String trigger = String.format("drift %s on v%d at %s (statistic %.1f)", d.detector(), d.version(), d.detectedAt(),
          d.statistic());
      TrainingSummary summary = new TrainingSummary(trigger, images.size(), byClass, byDomain, from, to, r.epochs(),
          cfg.batchSize(), plan.boundary(), r.layersTrained(), plan.headRate(), r.loss(), Networks.device(), trainMs,
          r.layerRates(), plan.reason(), r.cachedFeatureHits());
      ModelSpec candidateSpec = new ModelSpec(spec.inputShape(), spec.preprocessing(), spec.labels(), spec.layers(),
          plan.boundary());
      Manifest m = store.save(model, r.network(), candidateSpec, championVersion, summary, Map.of());
      Candidate c = new Candidate(Versioned.CURRENT, model, m.version(), store.uri(model, m.version()), m.sha256(),
          championVersion, summary, clock.instant());
      candidates.send(new ProducerRecord<>(cfg.common().topics().candidates.name(), model, c)).get();
      outcome = "candidate";
      log.info("candidate model={} version={} trained in {} ms on {} samples, loss {}, layer rates {}", model, m.version(),
          trainMs, images.size(), String.format("%.4f", r.loss()), r.layerRates());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (Exception e) {
      log.error("retrain of model={} from v{} failed: {}", model, championVersion, e.toString(), e);
    } finally {
      timer.stop(registry.timer("streamtune.trainer.retrain.duration", "model", model, "outcome", outcome));
      registry.counter("streamtune.trainer.retrains", "model", model, "outcome", outcome).increment();
    }
  }

  /** How many of the first {@code freshSize} items (the new domain) have a label of the model. */
  private static int countFresh(List<ReplayBuffer.Item> all, int freshSize, ModelSpec spec) {
    int n = 0;
    for (int i = 0; i < freshSize; i++) {
      n += spec.labelIndex(all.get(i).label()) >= 0 ? 1 : 0;
    }
    return n;
  }

  /**
   * The freeze plan for a retrain. The champion's accuracy on the new domain is measured on the fresh training samples (the
   * first {@code freshCount} images) when there are any, else taken from the drift signal; its accuracy before the shift comes
   * from the signal, else from the replayed earlier samples.
   */
  private FreezePlan plan(org.deeplearning4j.nn.multilayer.MultiLayerNetwork champion, DriftSignal d, List<float[]> images,
      int[] labels, int freshCount) {
    FreezePolicy policy = cfg.freezePolicy();
    if (policy.pinned() != null) {
      return policy.choose(freshCount, Double.NaN, Double.NaN);
    }
    double now = d.accuracyRecent();
    if (freshCount > 0) {
      now = Pretrainer.accuracy(champion, images.subList(0, freshCount), java.util.Arrays.copyOfRange(labels, 0, freshCount));
    }
    double before = d.accuracyBefore();
    if (!Double.isFinite(before) && freshCount < images.size()) {
      before = Pretrainer.accuracy(champion, images.subList(freshCount, images.size()),
          java.util.Arrays.copyOfRange(labels, freshCount, labels.length));
    }
    return policy.choose(freshCount, before, now);
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
    state.set(ServiceState.DRAINING);
    running = false;
    if (http != null) {
      http.close();
    }
    if (consumer != null) {
      consumer.wakeup();
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
    state.set(ServiceState.STOPPED);
  }
}
