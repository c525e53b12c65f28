package dev.streamtune.evaluator.internal;

import dev.streamtune.core.records.Decision;
import dev.streamtune.evaluator.ConfidenceDrift;
import dev.streamtune.evaluator.EvaluatorConfig;
import dev.streamtune.evaluator.FeatureDrift;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The evaluator's loop-event counters, by name, present at 0 from start-up for the model the evaluator serves and every label
 * value it can take (each configured detector, each verdict): Prometheus' {@code increase()} and {@code rate()} then see the
 * first drift signal or the first verdict, which a counter created by its first increment hides.
 */
public final class EvaluatorMeters implements MeterBinder {
  /** Drift signals published, tagged {@code model} and {@code detector}. */
  public static final String DRIFT_SIGNALS = "streamtune.evaluator.drift.signals";
  /** Gate verdicts published, tagged {@code model} and {@code verdict} (promote, reject). */
  public static final String GATE_DECISIONS = "streamtune.evaluator.gate.decisions";
  /** Failed candidates announced by the trainer, tagged {@code model}. */
  public static final String GATE_FAILED_CANDIDATES = "streamtune.evaluator.gate.failed.candidates";

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
    for (String d : detectors(cfg)) {
      registry.counter(DRIFT_SIGNALS, "model", model, "detector", d);
    }
    for (Decision.Verdict v : Decision.Verdict.values()) {
      registry.counter(GATE_DECISIONS, "model", model, "verdict", verdict(v));
    }
    registry.counter(GATE_FAILED_CANDIDATES, "model", model);
    dev.streamtune.core.metrics.Metrics.adapt(registry, model, STAGE_CANDIDATE);
    dev.streamtune.core.metrics.Metrics.adapt(registry, model, STAGE_VERDICT);
  }
}
