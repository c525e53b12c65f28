package dev.streamtune.standalone.eval;

import dev.streamtune.core.config.Settings;
import dev.streamtune.core.learn.ConfidenceCalibration;
import dev.streamtune.core.learn.ShiftAwareEstimate;
import dev.streamtune.core.learn.ThresholdedConfidence;
import dev.streamtune.core.model.Network;
import dev.streamtune.evaluator.DriftDetectors;
import dev.streamtune.evaluator.GateRule;
import dev.streamtune.standalone.report.HtmlReport;
import dev.streamtune.trainer.FreezePlan;
import dev.streamtune.trainer.FreezePolicy;
import dev.streamtune.trainer.Interpolation;
import dev.streamtune.trainer.ReplayBuffer;
import dev.streamtune.trainer.TrainerConfig;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * Runs one scenario: the detectors on the serving model's labelled stream, then for each label budget the trainer's retrain
 * (replay buffer, freeze policy, fine-tune from cached activations) and the baselines, each measured on held-out test images and
 * judged by the gate against the serving model.
 */
final class ScenarioRunner {
  /** The trainer's default settings: the replay buffer's sizes ({@code streamtune.trainer.buffer.recent}, {@code .reservoir}). */
  static final int CURVE_WINDOW = 100;
  static final int CURVE_STEP = 50;

  /** What a scenario produced. {@code adapted} is StreamTune's model at the largest label row. */
  record Result(Scenarios.Setup setup, Map<String, Detection.Outcome> detection, boolean[] errors, List<Row> rows,
      List<String> notes, Map<String, List<HtmlReport.Point>> curve, List<HtmlReport.Marker> markers, Network adapted,
      double seconds, Estimate estimate, List<CurvePoint> labelCurve) {}

  /**
   * One point of a label-efficiency curve: a technique fine-tuned on {@code labels} new-domain labels (random feedback: the
   * first labels after the onset) plus replay, measured on the held-out test images.
   */
  record CurvePoint(String technique, int labels, String boundary, double accNew, double cleanBefore, double cleanAfter,
      double oracle, double seconds, String note) {
    double forgettingPoints() {
      return (cleanBefore - cleanAfter) * 100;
    }
  }

  /** Served new-domain images without a label offered to pseudo-labelling, at every label count. */
  static final int UNLABELLED = 2000;
  /** Pseudo-labels as the eval runs them: up to 30 % of the training set, at 95 % precision on the calibration set. */
  static final dev.streamtune.trainer.PseudoLabels.Options PSEUDO = new dev.streamtune.trainer.PseudoLabels.Options(0.3, 0.95,
      0.2);
  static final dev.streamtune.trainer.Augmentation FLIP_SHIFT = dev.streamtune.trainer.Augmentation.parse("mirror,shift");

  /** The label-efficiency curves' techniques with the default augmentation (mirror, shift), distillation and interpolation. */
  static final List<Learner.Technique> TECHNIQUES = techniques(FLIP_SHIFT, TrainerConfig.DEFAULT_DISTILL,
      Interpolation.keeping(Interpolation.DEFAULT_MIN_AGREEMENT));

  /**
   * The label-efficiency curves' techniques, each alone on plain fine-tuning, then all together; {@code augment}'s copies,
   * distillation at {@code distill}, {@code interpolation} toward the parent.
   */
  static List<Learner.Technique> techniques(dev.streamtune.trainer.Augmentation augment, double distill,
      Interpolation interpolation) {
    String augmentation = "augmentation (" + augment.describe().replace(",", ", ") + ")";
    dev.streamtune.trainer.Augmentation none = dev.streamtune.trainer.Augmentation.NONE;
    dev.streamtune.trainer.PseudoLabels.Options noPseudo = dev.streamtune.trainer.PseudoLabels.Options.OFF;
    return List.of(
        new Learner.Technique("plain fine-tuning", 0, none, noPseudo, Interpolation.OFF),
        new Learner.Technique(String.format(Locale.ROOT, "distillation %s", distill), distill, none, noPseudo, Interpolation.OFF),
        new Learner.Technique(augmentation, 0, augment, noPseudo, Interpolation.OFF),
        new Learner.Technique("pseudo-labels", 0, none, PSEUDO, Interpolation.OFF),
        new Learner.Technique("interpolation " + interpolation.describe(), 0, none, noPseudo, interpolation),
        new Learner.Technique("all together", distill, augment, PSEUDO, interpolation));
  }

  /**
   * The curves' techniques of this run: augmentation with the fine-tunes' operations ({@code --augment}), else mirror, shift;
   * distillation at the fine-tunes' weight ({@code --distill}, {@code -s streamtune.trainer.distill}), else the default;
   * interpolation as the fine-tunes' ({@code -s streamtune.trainer.interpolate}), else the default least agreement.
   */
  private List<Learner.Technique> curveTechniques() {
    return techniques(learner.augmentation().none() ? FLIP_SHIFT : learner.augmentation(),
        learner.distill() > 0 ? learner.distill() : TrainerConfig.DEFAULT_DISTILL,
        learner.interpolation().off() ? Interpolation.keeping(Interpolation.DEFAULT_MIN_AGREEMENT) : learner.interpolation());
  }

  /**
   * The serving model's accuracy on the new domain estimated before any label of it, as the evaluator does
   * ({@link ShiftAwareEstimate}): its top-class confidence on the new domain's test images, calibrated on its answers to the
   * held-out guard images (the earlier domain, never trained on), held to the guard images' class prior when the new images'
   * embeddings lie farther from the guard images' than those lie from each other.
   *
   * @param plain the plain CBPE (mean calibrated confidence); {@code atc} the average thresholded confidence
   * @param distanceRatio the new images' median distance ratio ({@link ShiftAwareEstimate#distanceRatio})
   */
  record Estimate(double estimate, double truth, String calibration, double atc, double plain, double distanceRatio) {
    Estimate(double estimate, double truth, String calibration) {
      this(estimate, truth, calibration, Double.NaN);
    }

    Estimate(double estimate, double truth, String calibration, double atc) {
      this(estimate, truth, calibration, atc, estimate, Double.NaN);
    }

    /** The error of the plain CBPE. */
    double plainErrorPoints() {
      return (plain - truth) * 100;
    }

    double errorPoints() {
      return (estimate - truth) * 100;
    }

    /** The error of the average thresholded confidence ({@link dev.streamtune.core.learn.ThresholdedConfidence}). */
    double atcErrorPoints() {
      return (atc - truth) * 100;
    }
  }

  private record Measured(double accNew, double accClean, boolean[] testNewOk, boolean[] gateRecent, boolean[] gateGuard,
      double gateSeconds, Map<String, Double> extras) {}

  private final Learner learner;
  private final EvalOptions o;
  private final long seed;
  private final FreezePolicy policy;
  private final GateRule gate;
  private final DriftDetectors detectors;
  private final Consumer<String> log;
  private final boolean oracles;
  /** The trainer's settings its replay follows (buffer sizes, replay ratio and floor); the defaults unless {@link #trainer}. */
  private TrainerConfig trainer = TrainerConfig.from(Settings.empty());
  /** Where converged oracles are kept between runs (null: not kept). */
  private java.nio.file.Path oracleCache;

  ScenarioRunner(Learner learner, EvalOptions o, long seed, FreezePolicy policy, GateRule gate, DriftDetectors detectors,
      Consumer<String> log) {
    this(learner, o, seed, policy, gate, detectors, log, true);
  }

  /** {@code oracles}: false skips the oracles (a comparison of recipes that needs no reference: ratios are n/a). */
  ScenarioRunner(Learner learner, EvalOptions o, long seed, FreezePolicy policy, GateRule gate, DriftDetectors detectors,
      Consumer<String> log, boolean oracles) {
    this.oracles = oracles;
    this.learner = learner;
    this.o = o;
    this.seed = seed;
    this.policy = policy;
    this.gate = gate;
    this.detectors = detectors;
    this.log = log;
  }

  /**
   * Keeps each converged oracle under {@code dir}, keyed by everything it was trained from (backbone, scenario, seed, sizes, the
   * serving model's weights, a fingerprint of its training and validation data): a later run with the same key loads it
   * instead of training it again.
   */
  /** Replays as a trainer with {@code config} would (buffer sizes, {@code replay-ratio}, {@code replay-min}). */
  ScenarioRunner trainer(TrainerConfig config) {
    this.trainer = config;
    return this;
  }

  ScenarioRunner cacheOraclesIn(java.nio.file.Path dir) {
    this.oracleCache = dir;
    return this;
  }

  private Learner.Trained oracle(Scenarios.Setup s, List<Labelled> all) {
    java.nio.file.Path dir = null;
    if (oracleCache != null) {
      // the data's fingerprint too: the same sizes with other pixels (a scenario's corruption changed) train another oracle
      String key = String.format(Locale.ROOT, "%s-%s-s%d-n%d-v%d-e%d-p%08x-d%08x", learner.backbone().id(), s.name(), seed,
          all.size(), s.validation().size(), o.oracleMaxEpochs(), Double.hashCode(s.served().params().sumNumber().doubleValue())
              ^ Long.hashCode(s.served().numParams()), 31 * Labelled.fingerprint(all) + Labelled.fingerprint(s.validation()));
      dir = oracleCache.resolve(key);
      java.nio.file.Path zip = dir.resolve("model.zip");
      java.nio.file.Path meta = dir.resolve("oracle.json");
      if (java.nio.file.Files.exists(zip) && java.nio.file.Files.exists(meta)) {
        try {
          Network net = Network.restore(zip.toFile(), false);
          Map<?, ?> m = dev.streamtune.core.json.Json.fromBytes(java.nio.file.Files.readAllBytes(meta), Map.class);
          log.accept("  " + s.name() + ": oracle loaded from " + dir + " (trained by an earlier run with the same data)");
          return new Learner.Trained(net, FreezePlan.NOTHING, Map.of(), ((Number) m.get("seconds")).doubleValue(),
              ((Number) m.get("epochs")).intValue(), m.get("note") + " (loaded from an earlier run's cache)");
        } catch (java.io.IOException | RuntimeException e) {
          log.accept("  " + s.name() + ": cached oracle under " + dir + " unreadable (" + e + "): training it again");
        }
      }
    }
    Learner.Trained t = learner.oracle(s.champion(), s.classes(), all, s.validation(), o.oracleMaxEpochs(), log);
    if (dir != null) {
      try {
        java.nio.file.Files.createDirectories(dir);
        t.net().save(dir.resolve("model.zip").toFile(), false);
        java.nio.file.Files.write(dir.resolve("oracle.json"), dev.streamtune.core.json.Json.toBytes(Map.of("seconds",
            t.seconds(), "epochs", t.epochs(), "note", t.note())));
      } catch (java.io.IOException | RuntimeException e) {
        log.accept("  " + s.name() + ": cannot keep the oracle under " + dir + ": " + e);
      }
    }
    return t;
  }

  /** The serving model's accuracy on the new domain estimated before labels ({@link Estimate}). */
  private Estimate estimate(Scenarios.Setup s, Measured served) {
    Learner.Answers guard = learner.answers(s.served(), s.gateGuard());
    Learner.Answers fresh = learner.answers(s.served(), s.testNew());
    int[] labels = new int[s.gateGuard().size()];
    for (int i = 0; i < labels.length; i++) {
      int l = s.gateGuard().get(i).label();
      labels[i] = l < guard.classes() ? l : -1;
    }
    ShiftAwareEstimate fitted = ShiftAwareEstimate.fit(guard.confidence(), served.gateGuard(), labels, guard.predicted(),
        guard.embeddings(), guard.classes(), ConfidenceCalibration.DEFAULT_MAX_ECE);
    ShiftAwareEstimate.Estimate e = fitted.estimate(fresh.confidence(), fresh.predicted(), fresh.embeddings());
    return new Estimate(e.estimate(), served.accNew(), fitted.calibration().toString(),
        ThresholdedConfidence.fit(guard.confidence(), served.gateGuard()).estimate(fresh.confidence()), e.plain(),
        e.distanceRatio());
  }

  Result run(Scenarios.Setup s) {
    long start = System.nanoTime();
    int sb = s.streamBefore().size();
    int max = o.maxLabels();
    List<Labelled> maxFresh = s.fresh().apply(max);
    List<Labelled> stream = concat(s.streamBefore(), maxFresh);
    boolean[] streamOk = learner.correct(s.served(), stream);
    boolean[] errors = new boolean[streamOk.length];
    for (int i = 0; i < errors.length; i++) {
      errors[i] = !streamOk[i];
    }
    Map<String, Detection.Outcome> detection = Detection.run(detectors, errors, sb);
    double accBefore = mean(streamOk, 0, sb);
    log.accept(String.format(Locale.ROOT, "  %s: serving model %.3f on the stream before, %.3f after the onset; detection %s",
        s.name(), accBefore, mean(streamOk, sb, streamOk.length), describe(detection)));
    Measured served = measure(s.served(), s);
    List<String> notes = new ArrayList<>();
    Estimate estimate = estimate(s, served);
    Learner.Trained oracle = null;
    Measured oracleM = null;
    if (oracles && !s.oracleSource().isEmpty()) {
      List<Labelled> all = concat(s.oracleSource(), maxFresh);
      log.accept("  " + s.name() + ": oracle from the serving model's weights on " + s.oracleSource().size() + " source + "
          + maxFresh.size() + " new-domain labelled images, every layer, until its held-out accuracy stops improving");
      oracle = oracle(s, all);
      oracleM = measure(oracle.net(), s);
      notes.add(String.format(Locale.ROOT, "oracle: %s; %.0f s; %.4f on the new domain, %.4f clean", oracle.note(),
          oracle.seconds(), oracleM.accNew(), oracleM.accClean()));
    }
    double oracleAcc = oracleM == null ? Double.NaN : oracleM.accNew();
    // the trainer retrains once a detector has alarmed and the row's labels have arrived after the onset
    int caught = detection.values().stream().filter(Detection.Outcome::detected).mapToInt(Detection.Outcome::delay).min()
        .orElse(-1);
    List<Row> rows = new ArrayList<>();
    Network adapted = null;
    Row adaptedRow = null;
    Measured adaptedM = null;
    for (int n : o.labelRows()) {
      List<Labelled> fresh = n == max ? maxFresh : s.fresh().apply(n);
      double accNow = n == max ? mean(streamOk, sb, sb + n) : Learner.accuracy(learner.correct(s.served(), fresh));
      List<Labelled> replay = replay(s.earlier(), fresh, s.classes(), n);
      List<Labelled> train = concat(fresh, replay);
      if (n == o.labelRows().get(0)) {
        rows.add(row(s, n, Row.NONE, "-", 0, served, served, oracleAcc, 0, 0, 0, "-", "no candidate"));
      }
      if (oracleM != null) {
        rows.add(row(s, n, Row.ORACLE, FreezePlan.NOTHING, s.oracleSource().size(), served, oracleM, oracleAcc, oracle.seconds(),
            oracle.epochs(), 0, "-", "reference, not a candidate"));
      }
      Map<String, Learner.Trained> byBoundary = new HashMap<>();
      List<String> boundaries = learner.boundaries();
      FreezePlan head = new FreezePlan(boundaries.get(0), policy.headRate(), policy.lowerRateFactor(), "baseline head only");
      FreezePlan deeper = new FreezePlan(boundaries.get(boundaries.size() - 1), policy.headRate(), policy.lowerRateFactor(),
          "baseline deeper");
      FreezePlan chosen = policy.choose(boundaries, n, accBefore, accNow);
      notes.add(n + " labels: freeze policy: " + chosen.reason());
      log.accept("  " + s.name() + "/" + n + ": " + fresh.size() + " new + " + replay.size() + " replay; policy: "
          + chosen.boundary());
      // the costly baselines (conv2 unfrozen, a network from scratch) run at the largest label row of the abrupt shifts only
      // (where the freeze policy's choice is compared with them): that keeps the run inside its budget on 2 cores
      boolean costly = n == max && s.abrupt();
      Object[][] methods = costly ? new Object[][] {{Row.HEAD, head}, {Row.STREAMTUNE, chosen}, {Row.DEEPER, deeper}}
          : new Object[][] {{Row.HEAD, head}, {Row.STREAMTUNE, chosen}};
      for (Object[] m : methods) {
        FreezePlan plan = (FreezePlan) m[1];
        Learner.Trained t = byBoundary.get(plan.boundary());
        boolean reused = t != null;
        if (t == null) {
          t = learner.fineTune(s.champion(), s.championKey(), plan, train, fresh.size());
          byBoundary.put(plan.boundary(), t);
        }
        Measured after = measure(t.net(), s);
        GateRule.Result g = gate.decide(after.gateRecent(), served.gateRecent(), after.gateGuard(), served.gateGuard());
        Row r = row(s, n, (String) m[0], plan.boundary(), replay.size(), served, after, oracleAcc, t.seconds(), t.epochs(),
            fromShift(caught, n), g.verdict().name(), g.reason());
        rows.add(r);
        log.accept(String.format(Locale.ROOT, "    %-30s %-6s new %.4f -> %.4f, clean %.4f -> %.4f, %.1f s%s, gate %s",
            m[0], plan.boundary(), r.accNewBefore(), r.accNewAfter(), r.cleanBefore(), r.cleanAfter(), r.seconds(),
            reused ? " (same model as above)" : "", r.verdict()));
        if (m[0].equals(Row.STREAMTUNE) && n == max) {
          adapted = t.net();
          adaptedRow = r;
          adaptedM = after;
        }
      }
      // which labels to ask for, at the smallest budget of an abrupt shift, with the same recipe and freeze plan: the queue's
      // uniform sample of the drift region against choices made by the champion's answers or features, on the shifted stream
      // and on traffic of which only half shifted (one of two cameras). A few hundred labels make a noisy model: each arm is
      // the mean of QUEUE_REPEATS draws.
      if (s.abrupt() && n == o.labelRows().stream().mapToInt(Integer::intValue).min().orElse(n) && maxFresh.size() > n) {
        rows.addAll(queueRows(s, n, maxFresh, chosen, served, oracleAcc, caught, notes));
      }
      if (s.abrupt()) {
        // StreamTune's recipe with pseudo-labels on the served new-domain images that got no label
        List<Labelled> unlabelled = unlabelled(s, n);
        Learner.Trained t = learner.fineTune(new Learner.Technique(Row.PSEUDO, learner.distill(), learner.augmentation(), PSEUDO,
            learner.interpolation()),
            s.champion(), s.championKey(), chosen, train, fresh.size(), unlabelled);
        Measured after = measure(t.net(), s);
        GateRule.Result g = gate.decide(after.gateRecent(), served.gateRecent(), after.gateGuard(), served.gateGuard());
        Row r = row(s, n, Row.PSEUDO, chosen.boundary(), replay.size(), served, after, oracleAcc, t.seconds(), t.epochs(),
            fromShift(caught, n), g.verdict().name(), g.reason());
        rows.add(r);
        notes.add(n + " labels, " + Row.PSEUDO + ": " + t.note());
        log.accept(String.format(Locale.ROOT, "    %-30s %-6s new %.4f -> %.4f, clean %.4f -> %.4f, %.1f s, gate %s; %s",
            Row.PSEUDO, chosen.boundary(), r.accNewBefore(), r.accNewAfter(), r.cleanBefore(), r.cleanAfter(), r.seconds(),
            r.verdict(), t.note()));
      }
      if (s.abrupt()) {
        String stage = boundaries.get(boundaries.size() - 1);
        Learner.Trained t = learner.earlierHead(s.champion(), s.championKey(), stage, policy.headRate(), train, fresh.size());
        if (t != null) {
          Measured after = measure(t.net(), s);
          GateRule.Result g = gate.decide(after.gateRecent(), served.gateRecent(), after.gateGuard(), served.gateGuard());
          Row r = row(s, n, Row.EARLIER, stage, replay.size(), served, after, oracleAcc, t.seconds(), t.epochs(),
              fromShift(caught, n), g.verdict().name(), g.reason());
          rows.add(r);
          log.accept(String.format(Locale.ROOT, "    %-30s %-6s new %.4f -> %.4f, clean %.4f -> %.4f, %.1f s, gate %s",
              Row.EARLIER, stage, r.accNewBefore(), r.accNewAfter(), r.cleanBefore(), r.cleanAfter(), r.seconds(), r.verdict()));
        }
      }
      if (!costly) {
        continue;
      }
      Learner.Trained scratch = learner.scratch(s.classes(), train, o.epochs());
      Measured sm = measure(scratch.net(), s);
      GateRule.Result g = gate.decide(sm.gateRecent(), served.gateRecent(), sm.gateGuard(), served.gateGuard());
      Row r = row(s, n, Row.SCRATCH, FreezePlan.NOTHING, replay.size(), served, sm, oracleAcc, scratch.seconds(), scratch.epochs(),
          fromShift(caught, n), g.verdict().name(), g.reason());
      rows.add(r);
      log.accept(String.format(Locale.ROOT, "    %-30s %-6s new %.4f -> %.4f, clean %.4f -> %.4f, %.1f s, gate %s", Row.SCRATCH,
          FreezePlan.NOTHING, r.accNewBefore(), r.accNewAfter(), r.cleanBefore(), r.cleanAfter(), r.seconds(), r.verdict()));
    }
    rows.sort(java.util.Comparator.comparing((Row r) -> !r.method().equals(Row.NONE)).thenComparingInt(r -> -r.labels())
        .thenComparingInt(r -> Row.METHODS.indexOf(r.method())));
    if (!s.notes().isEmpty()) {
      notes.add(0, s.notes());
    }
    Map<String, List<HtmlReport.Point>> curve = new LinkedHashMap<>();
    List<HtmlReport.Marker> markers = new ArrayList<>();
    curve(s, streamOk, served, adaptedM, adaptedRow, curve, markers, detection);
    // no curve asked for (--label-curve), none drawn
    List<CurvePoint> labelCurve = s.abrupt() && !o.labelCurve().isEmpty() ? labelCurve(s, served, accBefore, oracleAcc)
        : List.of();
    return new Result(s, detection, errors, rows, notes, curve, markers, adapted, (System.nanoTime() - start) / 1e9, estimate,
        labelCurve);
  }

  /** The served new-domain images after the first {@code n} (which got labels) that got none: {@link #UNLABELLED} of them. */
  private static List<Labelled> unlabelled(Scenarios.Setup s, int n) {
    List<Labelled> more = s.fresh().apply(n + UNLABELLED);
    return more.subList(Math.min(n, more.size()), more.size());
  }

  /** Draws of labels per point of a label-efficiency curve: the first after the onset, then random ones among the first 2000. */
  static final int CURVE_DRAWS = 2;

  /**
   * Each of {@link #curveTechniques()} at each of the options' curve label counts on random feedback, the mean of {@link #CURVE_DRAWS}
   * draws (the first labels after the onset; a uniform draw from the labelled stream's first {@code maxLabels}), the freeze
   * policy's plan for the count, the trainer's replay; the same served images without a label for every draw.
   */
  private List<CurvePoint> labelCurve(Scenarios.Setup s, Measured served, double accBefore, double oracleAcc) {
    List<CurvePoint> out = new ArrayList<>();
    int max = Math.max(o.maxLabels(), o.labelCurve().get(o.labelCurve().size() - 1));
    List<Labelled> stream = s.fresh().apply(max);
    List<Labelled> unlabelled = unlabelled(s, max);
    for (int n : o.labelCurve()) {
      Map<String, double[]> sums = new LinkedHashMap<>();
      Map<String, String> notes = new LinkedHashMap<>();
      String boundary = null;
      for (int k = 0; k < CURVE_DRAWS; k++) {
        List<Labelled> fresh;
        if (k == 0) {
          fresh = stream.subList(0, Math.min(n, stream.size()));
        } else {
          List<Labelled> shuffled = new ArrayList<>(stream);
          java.util.Collections.shuffle(shuffled, new java.util.Random(seed + 7919L * k + n));
          fresh = shuffled.subList(0, Math.min(n, shuffled.size()));
        }
        double accNow = Learner.accuracy(learner.correct(s.served(), fresh));
        FreezePlan plan = policy.choose(learner.boundaries(), n, accBefore, accNow);
        boundary = boundary == null ? plan.boundary() : boundary.equals(plan.boundary()) ? boundary : boundary + "/"
            + plan.boundary();
        for (Learner.Technique t : curveTechniques()) {
          // the replay the trainer would take with this technique's augmentation (class-balanced draws: more is a superset)
          List<Labelled> train = concat(fresh, replay(s.earlier(), fresh, s.classes(), n, t.augmentation()));
          Learner.Trained tr = learner.fineTune(t, s.champion(), s.championKey(), plan, train, fresh.size(), unlabelled);
          Measured m = measure(tr.net(), s);
          double[] sum = sums.computeIfAbsent(t.name(), x -> new double[3]);
          sum[0] += m.accNew() / CURVE_DRAWS;
          sum[1] += m.accClean() / CURVE_DRAWS;
          sum[2] += tr.seconds() / CURVE_DRAWS;
          notes.merge(t.name(), tr.note(), (a, b) -> a.equals(b) ? a : a + "; then " + b);
          log.accept(String.format(Locale.ROOT, "    curve %-30s %4d labels (draw %d) %-6s new %.4f, forgetting %+.2f pts, %.1f s; %s",
              t.name(), n, k + 1, plan.boundary(), m.accNew(), (served.accClean() - m.accClean()) * 100, tr.seconds(),
              tr.note()));
        }
      }
      for (Learner.Technique t : curveTechniques()) {
        double[] sum = sums.get(t.name());
        out.add(new CurvePoint(t.name(), n, boundary, sum[0], served.accClean(), sum[1], oracleAcc, sum[2],
            notes.get(t.name())));
      }
    }
    return out;
  }

  static final int QUEUE_REPEATS = 3;

  /** The ways of choosing labels (see {@link Row#ALL_QUEUE}), each the mean of {@link #QUEUE_REPEATS} draws. */
  private List<Row> queueRows(Scenarios.Setup s, int n, List<Labelled> shifted, FreezePlan plan, Measured served, double oracleAcc,
      int caught, List<String> notes) {
    List<Labelled> reference = s.earlier().subList(0, Math.min(300, s.earlier().size()));
    List<Labelled> mixed = new ArrayList<>(shifted.subList(0, Math.min(shifted.size(), s.streamBefore().size())));
    mixed.addAll(s.streamBefore());
    java.util.Set<String> clean = new java.util.HashSet<>(Labelled.ids(s.streamBefore()));
    Object[][] arms = {{Row.ALL_QUEUE, Learner.Choice.QUEUE, shifted}, {Row.ALL_MARGIN, Learner.Choice.MARGIN, shifted},
        {Row.ALL_BADGE, Learner.Choice.BADGE, shifted}, {Row.HALF_QUEUE, Learner.Choice.QUEUE, mixed},
        {Row.HALF_NOVELTY, Learner.Choice.NOVELTY, mixed}};
    List<Row> out = new ArrayList<>();
    for (Object[] a : arms) {
      String arm = (String) a[0];
      Learner.Choice choice = (Learner.Choice) a[1];
      @SuppressWarnings("unchecked")
      List<Labelled> pool = (List<Labelled>) a[2];
      double accNew = 0;
      double accClean = 0;
      double seconds = 0;
      double shiftedShare = 0;
      int replayed = 0;
      Measured first = null;
      List<String> each = new ArrayList<>();
      for (int k = 0; k < QUEUE_REPEATS; k++) {
        long drawSeed = seed + 1000L * (k + 1);
        List<Labelled> asked = learner.choose(choice, s.served(), reference, pool, n, drawSeed);
        List<Labelled> askedReplay = replay(s.earlier(), asked, s.classes(), n);
        replayed = askedReplay.size();
        Learner.Trained t = learner.fineTune(s.champion(), s.championKey(), plan, concat(asked, askedReplay),
            asked.size());
        Measured m = measure(t.net(), s);
        first = first == null ? m : first;
        accNew += m.accNew() / QUEUE_REPEATS;
        accClean += m.accClean() / QUEUE_REPEATS;
        seconds += t.seconds() / QUEUE_REPEATS;
        shiftedShare += asked.stream().filter(x -> !clean.contains(x.id())).count() / (double) n / QUEUE_REPEATS;
        each.add(String.format(Locale.ROOT, "%.4f", m.accNew()));
      }
      Measured mean = new Measured(accNew, accClean, first.testNewOk(), first.gateRecent(), first.gateGuard(),
          first.gateSeconds(), first.extras());
      GateRule.Result g = gate.decide(first.gateRecent(), served.gateRecent(), first.gateGuard(), served.gateGuard());
      Row r = row(s, n, arm, plan.boundary(), replayed, served, mean, oracleAcc, seconds, o.epochs(),
          fromShift(caught, n), g.verdict().name(), g.reason());
      out.add(r);
      log.accept(String.format(Locale.ROOT, "    %-52s %-6s new %.4f -> %.4f (%s), clean %.4f -> %.4f, %.0f%% of the labels "
          + "shifted", arm, plan.boundary(), r.accNewBefore(), r.accNewAfter(), String.join(" ", each), r.cleanBefore(),
          r.cleanAfter(), 100 * shiftedShare));
      notes.add(String.format(Locale.ROOT, "%d labels, %s: new-domain accuracy %s over %d draws (mean %.4f); %.0f%% of the "
          + "labels were shifted images (from %d served)", n, arm, String.join(", ", each), QUEUE_REPEATS, accNew,
          100 * shiftedShare, pool.size()));
    }
    return out;
  }

  /** The StreamTune model for a scenario at {@code n} labels, without the baselines or any measurement. */
  Network adapt(Scenarios.Setup s, int n) {
    List<Labelled> fresh = s.fresh().apply(n);
    double before = Learner.accuracy(learner.correct(s.served(), s.streamBefore()));
    double now = Learner.accuracy(learner.correct(s.served(), fresh));
    FreezePlan plan = policy.choose(learner.boundaries(), n, before, now);
    return learner.fineTune(s.champion(), s.championKey(), plan, concat(fresh, replay(s.earlier(), fresh, s.classes(), n)),
        fresh.size()).net();
  }

  /**
   * The trainer's replay policy through its own buffer: the earlier samples arrive first, then the new domain's; a retrain takes
   * class-balanced earlier samples for the new-domain ones, as many as the trainer replays
   * ({@link TrainerConfig#replayCount(int, dev.streamtune.trainer.Augmentation, double, int, int)}: {@code replayRatio} per
   * new-domain sample, augmented copies included, at least its {@code replay-min} and at most its {@code replay-max}).
   */
  private List<Labelled> replay(List<Labelled> earlier, List<Labelled> fresh, int classes, int n) {
    return replay(earlier, fresh, classes, n, learner.augmentation());
  }

  /** {@link #replay(List, List, int, int)} for fine-tunes with {@code augment}'s copies of the new-domain samples. */
  private List<Labelled> replay(List<Labelled> earlier, List<Labelled> fresh, int classes, int n,
      dev.streamtune.trainer.Augmentation augment) {
    ReplayBuffer buffer = new ReplayBuffer(trainer.recentCapacity(), trainer.reservoirCapacity(), classes, seed);
    Map<String, Labelled> byId = new HashMap<>();
    Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
    int i = 0;
    for (Labelled x : earlier) {
      byId.put(x.id(), x);
      buffer.add(new ReplayBuffer.Item(x.id(), t0.plusSeconds(i++), Integer.toString(x.label()), "earlier", x.px()));
    }
    Instant onset = t0.plusSeconds(i);
    for (Labelled x : fresh) {
      buffer.add(new ReplayBuffer.Item(x.id(), t0.plusSeconds(i++), Integer.toString(x.label()), "new", x.px()));
    }
    int count = TrainerConfig.replayCount(n, augment, trainer.replayRatio(), trainer.replayMin(), trainer.replayMax());
    List<Labelled> out = new ArrayList<>(count);
    for (ReplayBuffer.Item item : buffer.replay(onset, count, seed + n)) {
      out.add(byId.get(item.id()));
    }
    return out;
  }

  private Measured measure(Network net, Scenarios.Setup s) {
    boolean[] newOk = learner.correct(net, s.testNew());
    double accNew = Learner.accuracy(newOk);
    double accClean = Learner.accuracy(learner.correct(net, s.testClean()));
    long gateStart = System.nanoTime();
    boolean[] gr = learner.correct(net, s.gateRecent());
    boolean[] gg = learner.correct(net, s.gateGuard());
    double gateSeconds = (System.nanoTime() - gateStart) / 1e9;
    Map<String, Double> extras = new LinkedHashMap<>();
    s.extraTests().forEach((name, xs) -> extras.put(name, Learner.accuracy(learner.correct(net, xs))));
    return new Measured(accNew, accClean, newOk, gr, gg, gateSeconds, extras);
  }

  private static Row row(Scenarios.Setup s, int n, String method, String boundary, int replay, Measured before, Measured after,
      double oracle, double seconds, int epochs, int fromShift, String verdict, String reason) {
    boolean candidate = !verdict.equals("-");
    return new Row(s.name(), method.equals(Row.NONE) ? 0 : n, method, boundary, replay, before.accNew(), after.accNew(), oracle,
        before.accClean(), after.accClean(), seconds, epochs, fromShift, candidate ? after.gateSeconds() : 0, verdict, reason,
        after.extras());
  }

  /** Labelled new-domain samples from the shift until a retrain on {@code n} of them could start, -1 when none was caught. */
  static int fromShift(int caught, int n) {
    return caught < 0 ? -1 : Math.max(caught, n);
  }

  /** Accuracy over the stream (windows of 100 labelled samples), then on the new domain's test images after the retrain. */
  private void curve(Scenarios.Setup s, boolean[] streamOk, Measured served, Measured adaptedM, Row adaptedRow,
      Map<String, List<HtmlReport.Point>> curve, List<HtmlReport.Marker> markers, Map<String, Detection.Outcome> detection) {
    int sb = s.streamBefore().size();
    int end = streamOk.length;
    List<HtmlReport.Point> before = window(streamOk, 0);
    boolean[] servedTest = served.testNewOk();
    before.addAll(window(servedTest, end));
    curve.put("serving model (no adaptation)", before);
    markers.add(new HtmlReport.Marker(sb, "shift", "onset"));
    detection.forEach((name, d) -> {
      for (int a : d.alarms()) {
        markers.add(new HtmlReport.Marker(a + 1, "drift", name));
      }
    });
    if (adaptedM != null) {
      boolean[] ok = adaptedM.testNewOk();
      curve.put("StreamTune candidate (" + adaptedRow.boundary() + ")", window(ok, end));
      markers.add(new HtmlReport.Marker(end, "retrain", adaptedRow.labels() + " labels"));
      markers.add(new HtmlReport.Marker(end, adaptedRow.verdict().equals("PROMOTE") ? "promotion" : "rejection",
          adaptedRow.verdict().toLowerCase(Locale.ROOT)));
    }
  }

  private static List<HtmlReport.Point> window(boolean[] ok, int offset) {
    List<HtmlReport.Point> out = new ArrayList<>();
    for (int i = Math.min(CURVE_WINDOW, ok.length); i <= ok.length; i += CURVE_STEP) {
      out.add(new HtmlReport.Point(offset + i, mean(ok, Math.max(0, i - CURVE_WINDOW), i)));
    }
    return out;
  }

  static String describe(Map<String, Detection.Outcome> d) {
    List<String> parts = new ArrayList<>();
    d.forEach((name, x) -> parts.add(name + " " + (x.detected() ? "delay " + x.delay() : "no alarm after the onset")
        + (x.falseAlarms() > 0 ? ", " + x.falseAlarms() + " before" : "")));
    return String.join("; ", parts);
  }

  private static double mean(boolean[] a, int from, int to) {
    if (to <= from) {
      return Double.NaN;
    }
    int k = 0;
    for (int i = from; i < to; i++) {
      k += a[i] ? 1 : 0;
    }
    return k / (double) (to - from);
  }

  private static <T> List<T> concat(List<T> a, List<T> b) {
    List<T> out = new ArrayList<>(a.size() + b.size());
    out.addAll(a);
    out.addAll(b);
    return out;
  }
}
