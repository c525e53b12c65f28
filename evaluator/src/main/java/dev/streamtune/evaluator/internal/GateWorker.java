package dev.streamtune.evaluator.internal;

import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.json.Json;
import dev.streamtune.core.json.RecordFormatException;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.KafkaClients;
import dev.streamtune.core.kafka.KafkaSupport;
import dev.streamtune.core.kafka.RejectedRecords;
import dev.streamtune.core.kafka.TopicReader;
import dev.streamtune.core.kafka.Topics;
import dev.streamtune.core.learn.Holdout;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.ModelStore;
import dev.streamtune.core.model.ModelVerificationException;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.model.PromotionCheck;
import dev.streamtune.core.records.Candidate;
import dev.streamtune.core.records.Decision;
import dev.streamtune.core.records.DriftSignal;
import dev.streamtune.core.records.ModelScore;
import dev.streamtune.core.records.Promotion;
import dev.streamtune.core.records.Sample;
import dev.streamtune.evaluator.EvaluatorConfig;
import dev.streamtune.evaluator.GateRule;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The promotion gate's thread. It rebuilds its view from the start of {@code samples} (held-out ones only), {@code promotions}
 * (the champion) and {@code drift} (where the new domain begins), takes candidates one at a time from {@code candidates} (a
 * consumer group, committed after the final verdict), scores candidate and champion on the same held-out samples and publishes
 * every verdict on {@code decisions} and a promotion on {@code promotions}.
 */
public final class GateWorker implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(GateWorker.class);
  /** Candidates of other models, skipped: each model's evaluator gates its own. */
  static final String OTHER_MODELS = "streamtune.evaluator.gate.other.model.candidates";
  private final EvaluatorConfig cfg;
  private final ModelStore store;
  private final MeterRegistry registry;
  private final PromotionCheck promotionCheck;
  private final Clock clock;
  private final Topics topics;
  private final KafkaConsumer<String, byte[]> state;
  private final KafkaConsumer<String, byte[]> candidates;
  private final KafkaProducer<String, Decision> decisions;
  private final KafkaProducer<String, Promotion> promotions;
  private final RejectedRecords rejected;
  private final EvaluatorMeters meters;
  private final HoldoutSet holdout;
  private final Map<String, Promotion> champions = new HashMap<>();
  private final Map<String, DriftSignal> lastDrift = new HashMap<>();
  /** The last PROMOTE or REJECT published, for the gauges of both models' scores. */
  private final AtomicReference<Decision> lastVerdict = new AtomicReference<>();
  private final Map<String, Map<Integer, DriftSignal>> firstDrift = new HashMap<>();
  private volatile boolean running = true;
  private volatile boolean caughtUp;
  private Pending pending;
  private LoadedModel championCache;

  private static final class Pending {
    final ConsumerRecord<String, byte[]> record;
    final Candidate candidate;
    final Instant since;
    int triedAtSize = -1;
    boolean announcedWaiting;

    Pending(ConsumerRecord<String, byte[]> record, Candidate candidate, Instant since) {
      this.record = record;
      this.candidate = candidate;
      this.since = since;
    }
  }

  public GateWorker(EvaluatorConfig cfg, ModelStore store, MeterRegistry registry, Clock clock) {
    this.cfg = cfg;
    this.store = store;
    this.registry = registry;
    this.promotionCheck = new PromotionCheck(store, registry, "gate", cfg.common().model());
    this.clock = clock;
    this.topics = cfg.common().topics();
    KafkaClients kafka = cfg.common().kafka();
    this.state = KafkaSupport.rawConsumer(kafka, cfg.applicationId() + "-gate-state", null);
    this.candidates = KafkaSupport.rawConsumer(kafka, cfg.applicationId() + "-gate", groupId(cfg),
        Map.of(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1));
    this.decisions = KafkaSupport.producer(kafka, cfg.applicationId() + "-decisions", topics.decisions);
    this.promotions = KafkaSupport.producer(kafka, cfg.applicationId() + "-promotions", topics.promotions);
    this.rejected = new RejectedRecords(kafka, cfg.applicationId() + "-gate", TopicReader.GATE, topics, registry);
    this.holdout = new HoldoutSet(cfg.holdoutRecentMax(), cfg.holdoutGuardMax());
    this.meters = new EvaluatorMeters(cfg);
    // the base version's counters exist before any promotion is read; each promotion read binds its version's
    store.base(cfg.common().model()).ifPresent(m -> meters.bindVersion(registry, cfg.common().model(), m.version()));
    String model = cfg.common().model();
    for (String role : List.of("candidate", "champion")) {
      for (String set : List.of("recent", "guard")) {
        Gauge.builder(EvaluatorMeters.GATE_ACCURACY, lastVerdict, r -> score(r.get(), role, set)).tags("model", model, "role", role,
            "set", set).description("the last verdict's accuracy of each model on the same held-out samples (NaN before one)")
            .register(registry);
      }
    }
    Gauge.builder(EvaluatorMeters.GATE_MCNEMAR_P, lastVerdict, r -> r.get() == null || r.get().mcnemarP() == null ? Double.NaN
        : r.get().mcnemarP()).tag("model", model).description("the last verdict's McNemar p-value on paired recent answers")
        .register(registry);
    Gauge.builder(EvaluatorMeters.GATE_CANDIDATE, lastVerdict, r -> r.get() == null ? Double.NaN : r.get().candidate().version())
        .tag("model", model).description("the version of the last candidate judged").register(registry);
    Gauge.builder(EvaluatorMeters.HOLDOUT_SAMPLES, holdout, HoldoutSet::size)
        .description("held-out samples the gate can score on").register(registry);
  }

  /** The consumer group of the gate's candidates (committed after each final verdict). */
  public static String groupId(EvaluatorConfig cfg) {
    return cfg.applicationId() + "-gate";
  }

  /** True once the gate has read its state topics to the end offsets it saw at start. */
  public boolean caughtUp() {
    return caughtUp;
  }

  @Override
  public void run() {
    try {
      Map<TopicPartition, Long> ends = KafkaSupport.assignFromBeginning(state,
          List.of(topics.samples.name(), topics.promotions.name(), topics.drift.name()), Duration.ofSeconds(30));
      candidates.subscribe(List.of(topics.candidates.name()));
      while (running) {
        for (ConsumerRecord<String, byte[]> r : state.poll(Duration.ofMillis(100))) {
          onState(r);
        }
        if (!caughtUp) {
          caughtUp = KafkaSupport.reached(state, ends);
          if (!caughtUp) {
            continue;
          }
          log.info("gate caught up: {} held-out samples, champions {}", holdout.size(), champions.keySet());
        }
        for (ConsumerRecord<String, byte[]> r : candidates.poll(Duration.ofMillis(pending == null ? 100 : 0))) {
          onCandidate(r);
        }
        if (pending != null) {
          tryDecide();
        }
      }
    } catch (WakeupException e) {
      if (running) {
        throw e;
      }
    } catch (RuntimeException e) {
      log.error("gate stopped on an unexpected error", e);
      throw e;
    } finally {
      state.close();
      candidates.close();
      decisions.close();
      promotions.close();
      rejected.close();
    }
  }

  private void onState(ConsumerRecord<String, byte[]> r) {
    try {
      if (r.topic().equals(topics.samples.name())) {
        if (r.key() != null && Holdout.isHeldOut(r.key(), cfg.common().holdoutShare())) {
          Sample s = Json.fromBytes(r.value(), Sample.class);
          holdout.add(new HoldoutSet.Item(s.id(), s.timestamp(), s.label(), s.domain(), s.image()));
        }
      } else if (r.topic().equals(topics.promotions.name())) {
        if (r.value() != null) {
          Promotion p = Json.fromBytes(r.value(), Promotion.class);
          if (p.model().equals(cfg.common().model()) && promotionCheck.accept(p, cfg.common().model())) {
            champions.put(p.model(), p);
            meters.bindVersion(registry, p.model(), p.version());
          }
        }
      } else {
        DriftSignal d = Json.fromBytes(r.value(), DriftSignal.class);
        if (!d.model().equals(cfg.common().model())) {
          return;
        }
        lastDrift.put(d.model(), d);
        // the first signal on a version marks where its new domain began; later ones on the same version (a detector that
        // fires again while the shift lasts, e.g. confidence-ks every recent window) would shrink the recent set to nothing
        firstDrift.computeIfAbsent(d.model(), m -> new HashMap<>()).putIfAbsent(d.version(), d);
      }
    } catch (RecordFormatException e) {
      if (r.topic().equals(topics.samples.name())) {
        rejected.rejectReadAlone(r, e.getMessage()); // a held-out sample: the trainer never reads it
      } else {
        rejected.reject(r, e.getMessage());
      }
    }
  }

  private void onCandidate(ConsumerRecord<String, byte[]> r) {
    try {
      Candidate c = Json.fromBytes(r.value(), Candidate.class);
      if (!c.model().equals(cfg.common().model())) {
        // another model's gate decides it: its name (any string a record holds) reaches no path, tag or state here
        registry.counter(OTHER_MODELS).increment();
        log.debug("gate of {} skips a candidate of another model at {}-{}@{}", cfg.common().model(), r.topic(), r.partition(),
            r.offset());
        commit(r);
        return;
      }
      if (c.failure() != null) {
        // a failed retrain stored nothing: there is no model to score, and no verdict to give
        log.info("gate skips failed training of model={} from v{}: {}", c.model(), c.parentVersion(), c.failure());
        EvaluatorMeters.failedCandidate(registry, c.model(), c.parentVersion()).increment();
        commit(r);
        return;
      }
      log.info("gate received candidate model={} version={} (parent {})", c.model(), c.version(), c.parentVersion());
      pending = new Pending(r, c, clock.instant());
      candidates.pause(candidates.assignment());
    } catch (RecordFormatException e) {
      rejected.reject(r, e.getMessage());
      commit(r);
    }
  }

  private void tryDecide() {
    Pending p = pending;
    if (p.triedAtSize >= 0 && holdout.size() < p.triedAtSize + 20
        && Duration.between(p.since, clock.instant()).compareTo(cfg.gatePendingTimeout()) < 0) {
      return;
    }
    p.triedAtSize = holdout.size();
    Candidate c = p.candidate;
    Decision decision;
    try {
      decision = evaluate(c);
    } catch (ModelVerificationException e) {
      decision = verdict(c, new ModelScore(c.version(), Double.NaN, Double.NaN), new ModelScore(0, Double.NaN, Double.NaN), 0, 0,
          Decision.Verdict.REJECT, "candidate failed verification: " + e.getMessage());
    } catch (RuntimeException | OutOfMemoryError e) {
      // a candidate that cannot be scored (a shape that does not fit, a broken network) is rejected, and the gate goes on
      log.warn("gate could not score model={} version={}: {}", c.model(), c.version(), e.toString());
      decision = verdict(c, new ModelScore(c.version(), Double.NaN, Double.NaN), new ModelScore(0, Double.NaN, Double.NaN), 0, 0,
          Decision.Verdict.REJECT, "candidate could not be scored: " + e);
    }
    if (decision.verdict() == Decision.Verdict.NOT_ENOUGH_DATA) {
      if (Duration.between(p.since, clock.instant()).compareTo(cfg.gatePendingTimeout()) >= 0) {
        decision = new Decision(Versioned.CURRENT, c.model(), Decision.Verdict.REJECT, decision.candidate(),
            decision.champion(), decision.recentSamples(), decision.guardSamples(), decision.rule(), "timed out after "
                + cfg.gatePendingTimeout() + " waiting for held-out samples: " + decision.reason(), clock.instant(),
            decision.mcnemarP(), decision.onlyCandidateRight(), decision.onlyChampionRight());
      } else {
        if (!p.announcedWaiting) {
          publish(decision, c.parentVersion());
          p.announcedWaiting = true;
        }
        return;
      }
    }
    decision = decision.answering(c.driftAt());
    publish(decision, c.parentVersion());
    if (c.driftAt() != null) {
      // the time to adapt, by stage: drift -> candidate trained -> verdict (serving adds "swap" on each node)
      EvaluatorMeters.adapt(registry, c.model(), EvaluatorMeters.STAGE_CANDIDATE, Duration.between(c.driftAt(), c.timestamp()));
      EvaluatorMeters.adapt(registry, c.model(), EvaluatorMeters.STAGE_VERDICT, Duration.between(c.driftAt(), decision.timestamp()));
    }
    if (decision.verdict() == Decision.Verdict.PROMOTE) {
      Manifest m = store.manifest(c.model(), c.version()).orElseThrow();
      Promotion promo = new Promotion(Versioned.CURRENT, c.model(), c.version(), c.storeUri(), m.sha256(),
          "gate: " + decision.reason(), clock.instant(), c.driftAt());
      promotions.send(new ProducerRecord<>(topics.promotions.name(), c.model(), promo));
      promotions.flush();
      champions.put(c.model(), promo);
      log.info("promoted model={} version={}", c.model(), c.version());
    }
    commit(p.record);
    pending = null;
    candidates.resume(candidates.assignment());
  }

  private Decision evaluate(Candidate c) {
    LoadedModel candidate = store.load(c.model(), c.version(), c.sha256());
    LoadedModel champion = champion(c.model());
    if (champion.version() == c.version()) {
      return verdict(c, new ModelScore(c.version(), Double.NaN, Double.NaN), new ModelScore(champion.version(), Double.NaN,
          Double.NaN), 0, 0, Decision.Verdict.REJECT, "candidate is the serving version");
    }
    // the onset the candidate was trained from (it says which alarm it answers); else the first signal on the champion
    DriftSignal d = c.signal() != null && c.signal().version() == champion.version() ? c.signal()
        : firstDrift.getOrDefault(c.model(), Map.of()).getOrDefault(champion.version(), lastDrift.get(c.model()));
    HoldoutSet.Split split = d == null ? holdout.split(null, null) : holdout.split(d.detectedAt(), d.onset());
    Scored recent = Scored.of(split.recent(), candidate.spec());
    Scored guard = Scored.of(split.guard(), candidate.spec());
    GateRule.Result r = cfg.gate().decide(recent.correct(candidate), recent.correct(champion), guard.correct(candidate),
        guard.correct(champion));
    log.info("gate model={} candidate v{} recent {}/guard {}: candidate {}/{} champion v{} {}/{} -> {} ({})", c.model(),
        c.version(), r.recent(), r.guard(), fmt(r.candidateRecent()), fmt(r.candidateGuard()), champion.version(),
        fmt(r.championRecent()), fmt(r.championGuard()), r.verdict(), r.reason());
    return new Decision(Versioned.CURRENT, c.model(), r.verdict(), new ModelScore(c.version(), r.candidateRecent(),
        r.candidateGuard()), new ModelScore(champion.version(), r.championRecent(), r.championGuard()), r.recent(), r.guard(),
        cfg.gate().describe(), r.reason(), clock.instant(), r.mcnemarP(), r.onlyCandidate(), r.onlyChampion());
  }

  private static String fmt(double d) {
    return String.format("%.3f", d);
  }

  private Decision verdict(Candidate c, ModelScore cand, ModelScore champ, int recent, int guard, Decision.Verdict v,
      String reason) {
    return new Decision(Versioned.CURRENT, c.model(), v, cand, champ, recent, guard, cfg.gate().describe(), reason,
        clock.instant());
  }

  private LoadedModel champion(String model) {
    Promotion p = champions.get(model);
    int version;
    String sha;
    if (p != null) {
      version = p.version();
      sha = p.sha256();
    } else {
      Manifest base = store.base(model).orElseThrow(() -> new ModelVerificationException("no model '" + model + "' in the store"));
      version = base.version();
      sha = base.sha256();
    }
    if (championCache == null || !championCache.model().equals(model) || championCache.version() != version) {
      championCache = store.load(model, version, sha);
    }
    return championCache;
  }

  /**
   * Held-out samples with their label indices in the candidate's label set (a label the champion lacks is a wrong answer of
   * the champion's); samples of labels the candidate lacks, or that do not decode for it, are left out. Each model reads the
   * images through its own spec's preprocessing.
   */
  private record Scored(List<byte[]> images, List<float[]> pixels, int[] labels, ModelSpec spec) {
    static Scored of(List<HoldoutSet.Item> items, ModelSpec spec) {
      Preprocessor pre = Preprocessor.of(spec);
      List<byte[]> img = new ArrayList<>();
      List<float[]> px = new ArrayList<>();
      List<Integer> lb = new ArrayList<>();
      for (HoldoutSet.Item i : items) {
        int label = spec.labelIndex(i.label());
        if (label < 0) {
          continue;
        }
        try {
          px.add(pre.decode(i.image()));
          img.add(i.image());
          lb.add(label);
        } catch (ImageFormatException e) {
          log.warn("held-out sample {} skipped: {}", i.id(), e.getMessage());
        }
      }
      return new Scored(img, px, lb.stream().mapToInt(Integer::intValue).toArray(), spec);
    }

    /** Whether the model answers each sample right; batched. */
    boolean[] correct(LoadedModel model) {
      Preprocessor pre = Preprocessor.of(model.spec());
      boolean same = model.spec().inputFormat().equals(spec.inputFormat());
      boolean[] out = new boolean[labels.length];
      int batch = 256;
      for (int from = 0; from < labels.length; from += batch) {
        int to = Math.min(labels.length, from + batch);
        List<float[]> part = same ? pixels.subList(from, to) : images.subList(from, to).stream().map(pre::decode).toList();
        int[] pred = Networks.argMax(model.network().output(pre.batch(part)));
        for (int i = 0; i < pred.length; i++) {
          out[from + i] = pred[i] == labels[from + i];
        }
      }
      return out;
    }
  }

  private static double score(Decision d, String role, String set) {
    if (d == null) {
      return Double.NaN;
    }
    ModelScore s = role.equals("candidate") ? d.candidate() : d.champion();
    return set.equals("recent") ? s.recentAccuracy() : s.guardAccuracy();
  }

  /** Publishes a verdict on a candidate trained from {@code parentVersion} (the counters' {@code version}). */
  private void publish(Decision d, int parentVersion) {
    if (d.verdict() != Decision.Verdict.NOT_ENOUGH_DATA) {
      lastVerdict.set(d);
    }
    EvaluatorMeters.decision(registry, d.model(), parentVersion, d.verdict()).increment();
    decisions.send(new ProducerRecord<>(topics.decisions.name(), d.model(), d));
    decisions.flush();
  }

  private void commit(ConsumerRecord<String, byte[]> r) {
    candidates.commitSync(Map.of(new TopicPartition(r.topic(), r.partition()), new OffsetAndMetadata(r.offset() + 1)));
  }

  /** Stops the loop; safe from any thread. */
  public void stop() {
    running = false;
    state.wakeup();
    candidates.wakeup();
  }
}
