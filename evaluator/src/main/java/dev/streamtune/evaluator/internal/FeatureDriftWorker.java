package dev.streamtune.evaluator.internal;

import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.learn.Holdout;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.kafka.TopicReader;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.ModelStore;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.model.PromotionCheck;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.LabellingRequest;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.records.Sample;
import dev.streamtune.evaluator.EvaluatorConfig;
import dev.streamtune.evaluator.FeatureDrift;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The label-free feature-drift thread (see {@link FeatureDrift}). It follows the champion on {@code promotions} (from the
 * start; the base model when nothing was promoted), samples served images from {@code inputs} (a consumer group, so a
 * restart goes on from its committed offsets), runs them in batches through the champion up to its spec's embedding layer off the
 * request path, and feeds the features to a {@link FeatureDriftMonitor}; an alarm is published on {@code drift} as a DATA
 * signal. A new champion resets the reference. An input that does not decode goes to {@code records.rejected} with the reason;
 * a champion that cannot be loaded is logged and skipped (the check pauses until the next promotion).
 */
public final class FeatureDriftWorker implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(FeatureDriftWorker.class);
  private static final int BATCH = 64;
  private final EvaluatorConfig cfg;
  private final FeatureDrift params;
  private final ModelStore store;
  private final MeterRegistry registry;
  private final PromotionCheck promotionCheck;
  private final Clock clock;
  private final Topics topics;
  private final KafkaConsumer<String, byte[]> promotions;
  private final KafkaConsumer<String, byte[]> inputs;
  private final KafkaConsumer<String, byte[]> samples;
  private final KafkaConsumer<String, byte[]> drifts;
  private final KafkaProducer<String, LabellingRequest> requests;
  private final LabellingQueue labelling;
  private final AccuracyEstimate estimate;
  private final java.util.Set<Integer> estimated = new java.util.HashSet<>();
  /** Whether the estimate took the served inputs as unlike its reference when last logged. */
  private boolean estimateUnfamiliar;
  private final KafkaProducer<String, DriftSignal> drift;
  private final RejectedRecords rejected;
  private final Counter sampled;
  private final LiveAccuracy live;
  private volatile boolean running = true;
  private volatile boolean caughtUp;
  private Promotion latest;
  private LoadedModel champion;
  private FeatureDriftMonitor monitor;
  private long inputCount;
  private final List<float[]> batch = new ArrayList<>();
  private final List<Instant> batchTimes = new ArrayList<>();
  private final List<String> batchIds = new ArrayList<>();
  private final List<byte[]> batchImages = new ArrayList<>();

  /** @param live where each completed test's statistic, threshold, p-value and window are exported */
  public FeatureDriftWorker(EvaluatorConfig cfg, ModelStore store, MeterRegistry registry, LiveAccuracy live, Clock clock) {
    this.cfg = cfg;
    this.estimate = new AccuracyEstimate(cfg.estimate());
    this.live = live;
    this.params = cfg.features();
    this.store = store;
    this.registry = registry;
    this.promotionCheck = new PromotionCheck(store, registry, "features", cfg.common().model());
    this.clock = clock;
    this.topics = cfg.common().topics();
    KafkaClients kafka = cfg.common().kafka();
    this.promotions = KafkaSupport.rawConsumer(kafka, cfg.applicationId() + "-features-state", null);
    this.inputs = KafkaSupport.rawConsumer(kafka, cfg.applicationId() + "-features", cfg.applicationId() + "-features",
        Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500));
    this.samples = KafkaSupport.rawConsumer(kafka, cfg.applicationId() + "-estimate-state", null);
    this.drift = KafkaSupport.producer(kafka, cfg.applicationId() + "-features-drift", topics.drift);
    // drift signals: the labelling queue's drift region, and whether the accuracy estimate's calibration still describes traffic
    this.drifts = KafkaSupport.rawConsumer(kafka, cfg.applicationId() + "-labelling-drift", null);
    if (cfg.labelling().enabled()) {
      this.requests = KafkaSupport.producer(kafka, cfg.applicationId() + "-labelling", topics.labellingRequests);
      this.labelling = new LabellingQueue(cfg.labelling(), cfg.common().model(), registry, this::request);
    } else {
      this.requests = null;
      this.labelling = null;
    }
    this.rejected = new RejectedRecords(kafka, cfg.applicationId() + "-features", TopicReader.FEATURES, topics, registry);
    this.sampled = Counter.builder(EvaluatorMeters.FEATURES_SAMPLED).tag("model", cfg.common().model())
        .description("served inputs run through the champion for the label-free feature-drift check").register(registry);
  }

  /** True once the champion is known (promotions read to their end offsets at start). */
  public boolean caughtUp() {
    return caughtUp;
  }

  @Override
  public void run() {
    try {
      Map<TopicPartition, Long> ends = KafkaSupport.assignFromBeginning(promotions, List.of(topics.promotions.name()),
          Duration.ofSeconds(30));
      while (running && !caughtUp) {
        for (ConsumerRecord<String, byte[]> r : promotions.poll(Duration.ofMillis(100))) {
          onPromotion(r);
        }
        caughtUp = KafkaSupport.reached(promotions, ends);
      }
      inputs.subscribe(List.of(topics.inputs.name()));
      KafkaSupport.assignFromBeginning(samples, List.of(topics.samples.name()), Duration.ofSeconds(30));
      KafkaSupport.assignFromBeginning(drifts, List.of(topics.drift.name()), Duration.ofSeconds(30));
      while (running) {
        for (ConsumerRecord<String, byte[]> r : promotions.poll(Duration.ZERO)) {
          onPromotion(r);
        }
        for (ConsumerRecord<String, byte[]> r : samples.poll(Duration.ZERO)) {
          onSample(r);
        }
        calibrate();
        ensureChampion();
        var records = inputs.poll(Duration.ofMillis(200));
        for (ConsumerRecord<String, byte[]> r : records) {
          onInput(r);
        }
        if (!batch.isEmpty() && (batch.size() >= BATCH || records.isEmpty())) {
          flush();
        }
        if (!records.isEmpty()) {
          inputs.commitAsync();
        }
        for (ConsumerRecord<String, byte[]> r : drifts.poll(Duration.ZERO)) {
          onDrift(r);
        }
        if (labelling != null) {
          labelling.round(clock.instant());
        }
      }
    } catch (WakeupException e) {
      if (running) {
        throw e;
      }
    } catch (RuntimeException e) {
      log.error("feature-drift check stopped on an unexpected error", e);
      throw e;
    } finally {
      inputs.close(Duration.ofSeconds(5));
      samples.close(Duration.ofSeconds(5));
      promotions.close(Duration.ofSeconds(5));
      drift.close(Duration.ofSeconds(5));
      drifts.close(Duration.ofSeconds(5));
      if (labelling != null) {
        requests.close(Duration.ofSeconds(5));
      }
      rejected.close();
    }
  }

  private void onPromotion(ConsumerRecord<String, byte[]> r) {
    if (r.value() == null) {
      return;
    }
    try {
      Promotion p = Json.fromBytes(r.value(), Promotion.class);
      if (p.model().equals(cfg.common().model()) && promotionCheck.accept(p, cfg.common().model())) {
        latest = p;
      }
    } catch (RecordFormatException e) {
      rejected.reject(r, e.getMessage());
    }
  }

  /** A held-out labelled sample: a candidate for the champion's calibration (the gate dead-letters unreadable ones). */
  private void onSample(ConsumerRecord<String, byte[]> r) {
    if (r.key() == null || r.value() == null || !Holdout.isHeldOut(r.key(), cfg.common().holdoutShare())) {
      return;
    }
    try {
      Sample s = Json.fromBytes(r.value(), Sample.class);
      estimate.addHeldOut(s.image(), s.label());
    } catch (RecordFormatException e) {
      log.debug("accuracy estimate skips an unreadable sample {}: {}", r.key(), e.getMessage());
    }
  }

  /**
   * A drift alarm (the evaluator wrote it; unreadable ones skipped): the labelling queue's drift region starts at its onset, and
   * the champion's accuracy estimate is no longer trusted when the alarm is about it.
   */
  private void onDrift(ConsumerRecord<String, byte[]> r) {
    if (r.value() == null) {
      return;
    }
    try {
      DriftSignal d = Json.fromBytes(r.value(), DriftSignal.class);
      if (labelling != null) {
        labelling.onDrift(d);
      }
      if (d.model().equals(cfg.common().model()) && estimate.onDrift(d.version())) {
        log.info("accuracy estimate of model={} v{} no longer trusted: {} drift ({})", d.model(), d.version(), d.kind(),
            d.detector());
      }
    } catch (RecordFormatException e) {
      log.debug("drift check skips an unreadable drift signal {}: {}", r.key(), e.getMessage());
    }
  }

  private void request(LabellingRequest r) {
    requests.send(new ProducerRecord<>(topics.labellingRequests.name(), r.predictionId(), r), (m, e) -> {
      if (e != null) {
        log.error("cannot publish a labelling request for prediction {}: {}", r.predictionId(), e.getMessage());
      }
    });
  }

  /** Fits the champion's calibration for the accuracy estimate once enough held-out samples are at hand. */
  private void calibrate() {
    if (champion == null || estimate.calibration() != null || estimate.version() != champion.version()) {
      return;
    }
    try {
      if (estimate.calibrate(champion)) {
        log.info("accuracy estimate for model={} v{}: {}", cfg.common().model(), champion.version(), estimate.fitted());
      }
    } catch (RuntimeException e) {
      registry.counter(EvaluatorMeters.FEATURES_ERRORS, "model", cfg.common().model()).increment();
      log.error("cannot calibrate the accuracy estimate of model={} v{}: {}", cfg.common().model(), champion.version(),
          e.toString());
      estimate.reset(champion.version());
    }
  }

  /** Loads the champion when it changed, and starts a new reference for it. */
  private void ensureChampion() {
    String model = cfg.common().model();
    int version;
    String sha;
    if (latest != null) {
      version = latest.version();
      sha = latest.sha256();
    } else {
      Optional<Manifest> base = store.base(model);
      if (base.isEmpty()) {
        return;
      }
      version = base.get().version();
      sha = base.get().sha256();
    }
    if (champion != null && champion.version() == version) {
      return;
    }
    if (monitor != null && monitor.version() == version) {
      return; // this version failed to load before; wait for the next promotion
    }
    clearBatch();
    try {
      champion = store.load(model, version, sha);
      ModelSpec spec = champion.spec();
      Preprocessor pre = Preprocessor.of(spec);
      // the embedding's width, from one forward pass: any layer type, any network class
      int dims = (int) champion.network().features(embedding(spec), pre.batch(List.of(new float[spec.imageSize()]))).size(1);
      monitor = new FeatureDriftMonitor(params, dims, cfg.common().model().hashCode());
      monitor.reset(version);
      estimate.reset(version);
      estimateUnfamiliar = false;
      if (labelling != null) {
        labelling.reset(version);
      }
      if (estimated.add(version)) {
        int v = version;
        io.micrometer.core.instrument.Gauge.builder(EvaluatorMeters.ACCURACY_ESTIMATE, estimate,
                e -> e.version() == v ? e.estimate() : Double.NaN)
            .tags("model", model, "version", Integer.toString(v))
            .description("the champion's accuracy on served inputs estimated from its calibrated confidence, before labels "
                + "(NaN when the version does not serve or is not calibrated yet)")
            .register(registry);
        io.micrometer.core.instrument.Gauge.builder(EvaluatorMeters.ACCURACY_ESTIMATE_TRUSTED, estimate, e -> e.trusted(v))
            .tags("model", model, "version", Integer.toString(v))
            .description("1 while no drift was signalled on the version, 0 after: its served inputs moved away from those the "
                + "estimate was calibrated on, and the estimate can be far off (NaN when the version does not serve)")
            .register(registry);
        io.micrometer.core.instrument.Gauge.builder(EvaluatorMeters.ACCURACY_ESTIMATE_DISTANCE, estimate,
                e -> e.version() == v ? e.distanceRatio() : Double.NaN)
            .tags("model", model, "version", Integer.toString(v))
            .description("median distance from the served inputs' embeddings to the held-out reference's, over the reference's "
                + "own: about 1 on inputs like it; above " + dev.streamtune.core.learn.ShiftAwareEstimate.UNFAMILIAR
                + " the estimate is held to the class prior (NaN when the version does not serve or is not calibrated yet)")
            .register(registry);
      }
      log.info("feature-drift check follows model={} v{} ({} features, reference of {} sampled inputs)", model, version, dims,
          params.reference());
    } catch (RuntimeException e) {
      champion = null;
      monitor = new FeatureDriftMonitor(params, 1, 0);
      monitor.reset(version);
      estimate.reset(version);
      estimateUnfamiliar = false;
      log.error("feature-drift check cannot load model={} v{}: {}; paused until the next promotion", model, version,
          e.getMessage());
    }
  }

  private void onInput(ConsumerRecord<String, byte[]> r) {
    if (champion == null) {
      return;
    }
    if (inputCount++ % params.sampleEvery() != 0) {
      return;
    }
    if (r.value() == null) {
      rejected.reject(r, "an input record without an image");
      return;
    }
    try {
      batch.add(Preprocessor.of(champion.spec()).decode(r.value()));
      batchTimes.add(Instant.ofEpochMilli(r.timestamp()));
      batchIds.add(r.key());
      batchImages.add(r.value());
    } catch (ImageFormatException e) {
      rejected.reject(r, "input image: " + e.getMessage());
    }
  }

  private void flush() {
    INDArray features;
    INDArray output;
    int[] predicted;
    try {
      INDArray x = Preprocessor.of(champion.spec()).batch(batch);
      // the features and the answer in one pass: the check compares features within the class the model predicted
      Network.Pass pass = champion.network().featuresAndOutput(embedding(champion.spec()), x);
      features = pass.features();
      output = pass.output();
      predicted = Networks.argMax(output);
      calibrate();
    } catch (RuntimeException e) {
      // a batch the network cannot take (e.g. out of memory): counted and skipped, the check goes on with the next one
      registry.counter(EvaluatorMeters.FEATURES_ERRORS, "model", cfg.common().model()).increment();
      log.error("feature-drift check skipped a batch of {} inputs for model={} v{}: {}", batch.size(), cfg.common().model(),
          champion.version(), e.toString());
      clearBatch();
      return;
    }
    for (int i = 0; i < batch.size(); i++) {
      float[] f = features.getRow(i).dup().toFloatVector();
      estimate.add(output.getDouble(i, predicted[i]), predicted[i], f);
      Optional<FeatureDriftMonitor.Alarm> alarm = monitor.add(f, predicted[i], batchTimes.get(i));
      sampled.increment();
      if (monitor.lastTest() != null) {
        live.test(cfg.common().model(), champion.version(), FeatureDrift.NAME, monitor.lastTest());
      }
      alarm.ifPresent(this::publish);
      if (estimate.unfamiliar() != estimateUnfamiliar) {
        estimateUnfamiliar = estimate.unfamiliar();
        log.info("accuracy estimate of model={} v{}: served inputs {} the held-out reference (median distance ratio {}){}",
            cfg.common().model(), champion.version(), estimateUnfamiliar ? "unlike" : "like again",
            String.format(java.util.Locale.ROOT, "%.2f", estimate.distanceRatio()),
            estimateUnfamiliar ? ": the estimate is held to the reference's class prior" : "");
      }
      if (labelling != null && batchIds.get(i) != null) {
        labelling.offer(batchIds.get(i), batchImages.get(i), batchTimes.get(i), output.getRow(i).dup().toFloatVector(), f,
            champion.spec().labels(), clock.instant());
      }
    }
    clearBatch();
  }

  private void clearBatch() {
    batch.clear();
    batchTimes.clear();
    batchIds.clear();
    batchImages.clear();
  }

  /** The layer whose output is compared: the spec's embedding layer. */
  private static String embedding(ModelSpec spec) {
    if (spec.embeddingLayer() == null) {
      throw new IllegalArgumentException("the model's spec names no embedding layer");
    }
    return spec.embeddingLayer();
  }

  private void publish(FeatureDriftMonitor.Alarm a) {
    String model = cfg.common().model();
    DriftSignal d = new DriftSignal(Versioned.CURRENT, model, champion.version(), DriftSignal.Kind.DATA, FeatureDrift.NAME,
        a.statistic(), a.threshold(), a.seen(), a.onset(), clock.instant(), Double.NaN, Double.NaN);
    drift.send(new ProducerRecord<>(topics.drift.name(), model, d), (m, e) -> {
      if (e != null) {
        log.error("cannot publish feature drift for model={} v{}: {}", model, champion.version(), e.getMessage());
      }
    });
    EvaluatorMeters.drift(registry, model, d.version(), FeatureDrift.NAME).increment();
    log.info("label-free feature drift model={} v{}: D={} > {} on direction {} after {} sampled inputs (onset {})", model,
        champion.version(), String.format("%.3f", a.statistic()), String.format("%.3f", a.threshold()), a.direction(), a.seen(),
        a.onset());
  }

  /** Stops the loop; {@link #run()} returns soon after. */
  public void stop() {
    running = false;
    inputs.wakeup();
    promotions.wakeup();
  }
}
