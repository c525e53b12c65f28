package dev.streamtune.evaluator;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.learn.Adwin;
import dev.streamtune.core.learn.Ddm;
import dev.streamtune.core.learn.PageHinkley;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The evaluator's settings.
 *
 * @param joinWindow how long after a prediction its feedback may arrive ({@code streamtune.evaluator.join.window})
 * @param accuracyWindow outcomes in the live accuracy window ({@code streamtune.evaluator.accuracy.window})
 * @param drift the supervised drift detectors on the 0/1 error stream ({@code streamtune.evaluator.drift.detectors}, a comma
 *     list of page-hinkley, ddm, adwin; default page-hinkley) with their parameters ({@code streamtune.evaluator.ph.*},
 *     {@code streamtune.evaluator.ddm.*}, {@code streamtune.evaluator.adwin.*})
 * @param confidence the label-free check on served confidences ({@code streamtune.evaluator.confidence.*})
 * @param gate the promotion rule ({@code streamtune.evaluator.gate.*})
 * @param holdoutRecentMax held-out samples kept for the recent set, holdoutGuardMax for the guard set
 * @param features the label-free check on the champion's penultimate-layer features of served inputs
 *     ({@code streamtune.evaluator.features.*})
 * @param labelling the labelling queue on the inputs the feature check samples ({@code streamtune.evaluator.labelling.*})
 * @param estimate the accuracy estimate before labels on the inputs the feature check samples
 *     ({@code streamtune.evaluator.estimate.*})
 */
public record EvaluatorConfig(CommonConfig common, String host, int port, String applicationId, Path stateDir, Duration joinWindow,
    int accuracyWindow, DriftDetectors drift, ConfidenceDrift confidence, GateRule gate, int holdoutRecentMax, int holdoutGuardMax,
    Duration gatePendingTimeout, FeatureDrift features, Labelling labelling, AccuracyEstimateSettings estimate) {
  public static EvaluatorConfig from(Settings s) {
    CommonConfig common = CommonConfig.from(s);
    // delta 0.05 / lambda 15: on the evaluation's recorded error streams (docs/evaluation.md, Page-Hinkley settings) the one
    // setting of the grid that catches the abrupt shifts within 100 labelled samples with no alarm on 100,000 stationary ones
    PageHinkley ph = new PageHinkley(s.decimal("streamtune.evaluator.ph.delta", 0.05, 0, 1),
        s.decimal("streamtune.evaluator.ph.lambda", 15, 0.001, 1e9), s.integer("streamtune.evaluator.ph.min-samples", 30, 1,
            1_000_000));
    GateRule gate = new GateRule(s.integer("streamtune.evaluator.gate.min-recent", 100, 1, 1_000_000),
        s.decimal("streamtune.evaluator.gate.min-gain", 0.02, 0, 1), s.decimal("streamtune.evaluator.gate.alpha", 0.05, 1e-9, 0.5),
        s.decimal("streamtune.evaluator.gate.max-guard-drop", 0.02, 0, 1));
    Path stateDir = s.path("streamtune.evaluator.state.dir", null);
    return new EvaluatorConfig(common, s.string("streamtune.evaluator.host", "localhost"),
        s.integer("streamtune.evaluator.port", 8083, 0, 65535), s.string("streamtune.evaluator.application-id",
            "streamtune-evaluator"), stateDir, s.duration("streamtune.evaluator.join.window", Duration.ofHours(1)),
        s.integer("streamtune.evaluator.accuracy.window", 200, 10, 1_000_000), detectors(s, ph), confidence(s),
        gate, s.integer("streamtune.evaluator.holdout.recent-max", 2000, 10, 1_000_000),
        s.integer("streamtune.evaluator.holdout.guard-max", 2000, 10, 1_000_000),
        s.duration("streamtune.evaluator.gate.pending-timeout", Duration.ofMinutes(10)), features(s), labelling(s),
        new AccuracyEstimateSettings(s.integer(AccuracyEstimateSettings.WINDOW_KEY, 300, 50, 100_000),
            s.bool(AccuracyEstimateSettings.HOLD_KEY, true)));
  }

  private static Labelling labelling(Settings s) {
    Duration interval = positive(s, "streamtune.evaluator.labelling.interval", Duration.ofSeconds(10));
    Duration maxAge = positive(s, "streamtune.evaluator.labelling.max-age", Duration.ofMinutes(10));
    Labelling l = new Labelling(s.integer(Labelling.BUDGET_KEY, 60, 0, 1_000_000), interval,
        s.integer("streamtune.evaluator.labelling.pending-max", 1000, 1, 1_000_000), maxAge,
        s.integer("streamtune.evaluator.labelling.reference", 300, 10, 100_000));
    if (l.enabled() && !s.bool("streamtune.evaluator.features.enabled", true)) {
      throw new ConfigException(Labelling.BUDGET_KEY, Integer.toString(l.budgetPerMinute()),
          "the labelling queue scores the inputs the feature check samples: set streamtune.evaluator.features.enabled=true or "
              + "the budget to 0");
    }
    return l;
  }

  static final String DETECTORS_KEY = "streamtune.evaluator.drift.detectors";

  private static DriftDetectors detectors(Settings s, PageHinkley ph) {
    String value = s.string(DETECTORS_KEY, PageHinkley.NAME);
    List<String> names = new ArrayList<>();
    for (String part : value.split(",", -1)) {
      String name = part.trim().toLowerCase(Locale.ROOT);
      if (!DriftDetectors.KNOWN.contains(name)) {
        throw new ConfigException(DETECTORS_KEY, value, "unknown detector '" + part.trim() + "'; use a comma list of "
            + DriftDetectors.KNOWN);
      }
      if (names.contains(name)) {
        throw new ConfigException(DETECTORS_KEY, value, "detector '" + name + "' named twice");
      }
      names.add(name);
    }
    double warning = s.decimal("streamtune.evaluator.ddm.warning-level", Ddm.defaults().warningLevel(), 0.1, 100);
    double driftLevel = s.decimal("streamtune.evaluator.ddm.drift-level", Ddm.defaults().driftLevel(), 0.1, 100);
    if (!(driftLevel > warning)) {
      throw new ConfigException("streamtune.evaluator.ddm.drift-level", Double.toString(driftLevel),
          "must be above streamtune.evaluator.ddm.warning-level (" + warning + ")");
    }
    Ddm ddm = new Ddm(warning, driftLevel, s.integer("streamtune.evaluator.ddm.min-samples", Ddm.defaults().minSamples(), 2,
        1_000_000));
    int minSub = s.integer("streamtune.evaluator.adwin.min-sub-window", Adwin.defaults().minSubWindow(), 1, 10_000);
    int maxWindow = s.integer("streamtune.evaluator.adwin.max-window", Adwin.defaults().maxWindow(), 20, 100_000);
    if (maxWindow < 2 * minSub) {
      throw new ConfigException("streamtune.evaluator.adwin.max-window", Integer.toString(maxWindow),
          "must be at least twice streamtune.evaluator.adwin.min-sub-window (" + minSub + ")");
    }
    Adwin adwin = new Adwin(s.decimal("streamtune.evaluator.adwin.delta", Adwin.defaults().delta(), 1e-12, 0.5), maxWindow,
        minSub);
    return new DriftDetectors(names, ph, ddm, adwin);
  }

  private static Duration positive(Settings s, String key, Duration def) {
    Duration d = s.duration(key, def);
    if (d.isZero() || d.isNegative()) {
      throw new ConfigException(key, d.toString(), "must be positive");
    }
    return d;
  }

  private static FeatureDrift features(Settings s) {
    return new FeatureDrift(s.bool("streamtune.evaluator.features.enabled", true),
        s.integer("streamtune.evaluator.features.sample-every", 2, 1, 1_000_000),
        s.integer("streamtune.evaluator.features.reference", 300, 10, 100_000),
        s.integer("streamtune.evaluator.features.recent", 150, 10, 100_000),
        s.integer("streamtune.evaluator.features.every", 25, 1, 100_000),
        s.decimal("streamtune.evaluator.features.alpha", 1e-4, 1e-12, 0.5),
        s.integer("streamtune.evaluator.features.projections", 8, 1, 64));
  }

  private static ConfidenceDrift confidence(Settings s) {
    return new ConfidenceDrift(s.bool("streamtune.evaluator.confidence.enabled", true),
        s.integer("streamtune.evaluator.confidence.reference", 500, 10, 100_000),
        s.integer("streamtune.evaluator.confidence.recent", 200, 10, 100_000),
        s.integer("streamtune.evaluator.confidence.every", 50, 1, 100_000),
        s.decimal("streamtune.evaluator.confidence.alpha", 5e-5, 1e-12, 0.5));
  }
}
