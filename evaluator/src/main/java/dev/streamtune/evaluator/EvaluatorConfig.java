package dev.streamtune.evaluator;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.learn.PageHinkley;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The evaluator's settings.
 *
 * @param joinWindow how long after a prediction its feedback may arrive ({@code streamtune.evaluator.join.window})
 * @param accuracyWindow outcomes in the live accuracy window ({@code streamtune.evaluator.accuracy.window})
 * @param pageHinkley the supervised drift detector on the 0/1 error stream ({@code streamtune.evaluator.ph.*})
 * @param gate the promotion rule ({@code streamtune.evaluator.gate.*})
 * @param holdoutRecentMax held-out samples kept for the recent set, holdoutGuardMax for the guard set
 */
public record EvaluatorConfig(CommonConfig common, String host, int port, String applicationId, Path stateDir, Duration joinWindow,
    int accuracyWindow, PageHinkley pageHinkley, GateRule gate, int holdoutRecentMax, int holdoutGuardMax,
    Duration gatePendingTimeout) {
  public static EvaluatorConfig from(Settings s) {
    CommonConfig common = CommonConfig.from(s);
    PageHinkley ph = new PageHinkley(s.decimal("streamtune.evaluator.ph.delta", 0.005, 0, 1),
        s.decimal("streamtune.evaluator.ph.lambda", 50, 0.001, 1e9), s.integer("streamtune.evaluator.ph.min-samples", 30, 1,
            1_000_000));
    GateRule gate = new GateRule(s.integer("streamtune.evaluator.gate.min-recent", 100, 1, 1_000_000),
        s.decimal("streamtune.evaluator.gate.min-gain", 0.02, 0, 1), s.decimal("streamtune.evaluator.gate.alpha", 0.05, 1e-9, 0.5),
        s.decimal("streamtune.evaluator.gate.max-guard-drop", 0.02, 0, 1));
    Path stateDir = s.path("streamtune.evaluator.state.dir", null);
    return new EvaluatorConfig(common, s.string("streamtune.evaluator.host", "localhost"),
        s.integer("streamtune.evaluator.port", 8083, 0, 65535), s.string("streamtune.evaluator.application-id",
            "streamtune-evaluator"), stateDir, s.duration("streamtune.evaluator.join.window", Duration.ofHours(1)),
        s.integer("streamtune.evaluator.accuracy.window", 200, 10, 1_000_000), ph,
        gate, s.integer("streamtune.evaluator.holdout.recent-max", 2000, 10, 1_000_000),
        s.integer("streamtune.evaluator.holdout.guard-max", 2000, 10, 1_000_000),
        s.duration("streamtune.evaluator.gate.pending-timeout", Duration.ofMinutes(10)));
  }
}
