package dev.streamtune.evaluator.internal;

import dev.streamtune.core.kafka.FeedbackLedger;
import dev.streamtune.core.records.Decision;
import dev.streamtune.evaluator.ConfidenceDrift;
import dev.streamtune.evaluator.EvaluatorConfig;
import dev.streamtune.evaluator.FeatureDrift;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The evaluator's loop-event counters, by name, present at 0 for every label value they can take (each configured detector,
 * each verdict) from the moment the model version they concern is known ({@link #bindVersion}): Prometheus' {@code increase()}
 * and {@code rate()} then see the first drift signal or the first verdict, which a counter created by its first increment
 * hides. Every tag is bounded: model and version come from the evaluator's own model, detectors and verdicts from fixed sets.
 */
public final class EvaluatorMeters implements MeterBinder {
  /** Drift signals published, tagged {@code model}, {@code version} (the served version whose traffic drifted), {@code detector}. */
  public static final String DRIFT_SIGNALS = "streamtune.evaluator.drift.signals";
  /**
   * Gate verdicts published, tagged {@code model}, {@code version} (the version the candidate was trained from, the champion
   * it challenges: known before the verdict, so the counter is at 0 before it) and {@code verdict} (promote, reject,
   * not_enough_data).
   */
  public static final String GATE_DECISIONS = "streamtune.evaluator.gate.decisions";
  /** Failed candidates announced by the trainer, tagged {@code model} and {@code version} (the version retrained from). */
  public static final String GATE_FAILED_CANDIDATES = "streamtune.evaluator.gate.failed.candidates";

  /**
   * Feedback not counted as an outcome, tagged {@code reason}: {@code repeat} (its prediction had the same label already, a
   * resent request), {@code relabelled} (another label; the first counts) or {@code no-prediction} (no prediction with its id
   * arrived within the join window: an unknown id, or a serving node that stopped before it published the prediction; ingest
   * rejects the same label to {@code records.rejected} with reason {@code no-input}).
   */
  public static final String FEEDBACK_IGNORED = "streamtune.evaluator.feedback.ignored";
  /** The {@code reason} of {@link #FEEDBACK_IGNORED} for a label whose prediction never arrived. */
  public static final String NO_PREDICTION = "no-prediction";

  /**
   * The last verdict's scores, gauges tagged {@code model}, {@code role} (candidate, champion) and {@code set} (recent: the new
   * domain, guard: earlier domains): both models on the same held-out samples.
   */
  public static final String GATE_ACCURACY = "streamtune.evaluator.gate.accuracy";
  /** The last verdict's McNemar p-value on the paired recent answers (NaN when the rule used none), tagged {@code model}. */
  public static final String GATE_MCNEMAR_P = "streamtune.evaluator.gate.mcnemar.pvalue";
  /** The version of the last candidate judged, tagged {@code model}. */
  public static final String GATE_CANDIDATE = "streamtune.evaluator.gate.candidate.version";
  /** Gauge: windowed accuracy per {@code model} and {@code version}. */
  public static final String ACCURACY = "streamtune.evaluator.accuracy";
  /**
   * Gauge per {@code model} and {@code version}: the champion's accuracy estimated from its calibrated confidence on served
   * inputs, before labels ({@link AccuracyEstimate}).
   */
  public static final String ACCURACY_ESTIMATE = "streamtune.evaluator.accuracy.estimate";
  /**
   * Gauge per {@code model} and {@code version}: 1 while no drift was signalled on the champion, 0 after (its estimate's
   * calibration no longer describes the traffic); NaN when the version does not serve.
   */
  public static final String ACCURACY_ESTIMATE_TRUSTED = "streamtune.evaluator.accuracy.estimate.trusted";
  /**
   * Gauge per {@code model} and {@code version}: the median distance ratio of the served inputs the estimate reads (about 1 on
   * inputs like its reference; above {@code ShiftAwareEstimate.UNFAMILIAR} the estimate is held to the class prior).
   */
  public static final String ACCURACY_ESTIMATE_DISTANCE = "streamtune.evaluator.accuracy.estimate.distance.ratio";
  /** Gauges {@code .statistic}, {@code .threshold}, {@code .window}, {@code .pvalue} per model, version and detector. */
  public static final String DETECTOR = "streamtune.evaluator.detector";
  /** Gauge: held-out samples the gate can score on. */
  public static final String HOLDOUT_SAMPLES = "streamtune.evaluator.holdout.samples";
  /** Served inputs sampled for the feature check, and batches it had to skip, tagged {@code model}. */
  public static final String FEATURES_SAMPLED = "streamtune.evaluator.features.sampled";
  public static final String FEATURES_ERRORS = "streamtune.evaluator.features.errors";
  /** Labelled outcomes, tagged {@code model}, {@code version} and {@code correct}. */
  public static final String OUTCOMES = "streamtune.evaluator.outcomes";

  /** The stages of core's {@link dev.streamtune.core.metrics.Metrics#ADAPT} the evaluator records. */
  public static final String STAGE_CANDIDATE = "candidate";
  public static final String STAGE_VERDICT = "verdict";

  private final EvaluatorConfig cfg;

  public EvaluatorMeters(EvaluatorConfig cfg) {
    this.cfg = cfg;
  }

  /** The detectors that can raise a signal under this configuration. */
  public static List<String> detectors(EvaluatorConfig cfg) {
    List<String> out = new ArrayList<>(cfg.drift().names());
    if (cfg.confidence().enabled()) {
      out.add(ConfidenceDrift.NAME);
    }
    if (cfg.features().enabled()) {
      out.add(FeatureDrift.NAME);
    }
    return out;
  }

  /** The {@code verdict} tag of a decision. */
  public static String verdict(Decision.Verdict v) {
    return v.name().toLowerCase(Locale.ROOT);
  }

  static void adapt(MeterRegistry registry, String model, String stage, java.time.Duration d) {
    if (!d.isNegative()) {
      dev.streamtune.core.metrics.Metrics.adapt(registry, model, stage).record(d);
    }
  }

  @Override
  public void bindTo(MeterRegistry registry) {
    String model = cfg.common().model();
    for (FeedbackLedger.Seen seen : FeedbackLedger.Seen.values()) {
      if (seen != FeedbackLedger.Seen.FIRST) {
        registry.counter(FEEDBACK_IGNORED, "reason", FirstLabelOnly.reason(seen));
      }
    }
    registry.counter(FEEDBACK_IGNORED, "reason", NO_PREDICTION);
    dev.streamtune.core.metrics.Metrics.adapt(registry, model, STAGE_CANDIDATE);
    dev.streamtune.core.metrics.Metrics.adapt(registry, model, STAGE_VERDICT);
  }

  /**
   * Registers at 0 the counters of events that concern a served version of the model, as soon as the version is known (the
   * champion at start, each promotion, a version's first prediction or outcome): its drift signals per detector, the verdicts
   * on candidates that challenged it and its failed retrains. Idempotent.
   */
  public void bindVersion(MeterRegistry registry, String model, int version) {
    for (String d : detectors(cfg)) {
      drift(registry, model, version, d);
    }
    for (Decision.Verdict v : Decision.Verdict.values()) {
      decision(registry, model, version, v);
    }
    failedCandidate(registry, model, version);
  }

  /** Drift signals on a served version's traffic, by detector. */
  public static Counter drift(MeterRegistry registry, String model, int version, String detector) {
    return registry.counter(DRIFT_SIGNALS, "model", model, "version", Integer.toString(version), "detector", detector);
  }

  /** Verdicts on candidates trained from {@code version}. */
  public static Counter decision(MeterRegistry registry, String model, int version, Decision.Verdict verdict) {
    return registry.counter(GATE_DECISIONS, "model", model, "version", Integer.toString(version), "verdict", verdict(verdict));
  }

  /** Failed retrains of the version they started from. */
  public static Counter failedCandidate(MeterRegistry registry, String model, int parentVersion) {
    return registry.counter(GATE_FAILED_CANDIDATES, "model", model, "version", Integer.toString(parentVersion));
  }
}
