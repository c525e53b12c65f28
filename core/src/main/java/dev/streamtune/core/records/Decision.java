package dev.streamtune.core.records;

import dev.streamtune.core.json.Versioned;
import java.time.Instant;
import java.util.Objects;

/**
 * A verdict of the promotion gate on {@code decisions}, keyed by model name. Every verdict is published.
 *
 * @param recentSamples held-out samples of the new domain (since the drift onset) both models were scored on
 * @param guardSamples held-out samples of earlier domains both models were scored on
 * @param rule the rule with its parameters, e.g. {@code gain >= 0.02 && guard drop <= 0.01}
 * @param reason what decided, in words
 */
public record Decision(int schema, String model, Verdict verdict, ModelScore candidate, ModelScore champion, int recentSamples,
    int guardSamples, String rule, String reason, Instant timestamp) implements Versioned {
  public enum Verdict { PROMOTE, REJECT, NOT_ENOUGH_DATA }

  public Decision {
    Versioned.check(schema, "decision");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(verdict, "verdict");
    Objects.requireNonNull(candidate, "candidate");
    Objects.requireNonNull(rule, "rule");
  }
}
