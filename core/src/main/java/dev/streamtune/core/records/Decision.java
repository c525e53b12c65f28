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
 * @param mcnemarP the one-sided exact McNemar p-value of the candidate's gain on the recent set (null when no test ran, e.g.
 *     a candidate that failed verification; added in schema 1, older records read as null)
 * @param onlyCandidateRight recent held-out samples only the candidate answered right (McNemar's b; null as above)
 * @param onlyChampionRight recent held-out samples only the champion answered right (McNemar's c; null as above)
 * @param driftAt when the drift the candidate answers was detected (the candidate's own {@code driftAt}); null when it answers
 *     none, and in records written before the field. The time to adapt up to this verdict is {@code timestamp - driftAt}
 */
public record Decision(int schema, String model, Verdict verdict, ModelScore candidate, ModelScore champion, int recentSamples,
    int guardSamples, String rule, String reason, Instant timestamp, Double mcnemarP, Integer onlyCandidateRight,
    Integer onlyChampionRight, Instant driftAt) implements Versioned {
  public enum Verdict { PROMOTE, REJECT, NOT_ENOUGH_DATA }

  public Decision {
    Versioned.check(schema, "decision");
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(verdict, "verdict");
    Objects.requireNonNull(candidate, "candidate");
    Objects.requireNonNull(rule, "rule");
  }

  /** A verdict without a test (e.g. a candidate that failed verification, or is the serving version). */
  public Decision(int schema, String model, Verdict verdict, ModelScore candidate, ModelScore champion, int recentSamples,
      int guardSamples, String rule, String reason, Instant timestamp) {
    this(schema, model, verdict, candidate, champion, recentSamples, guardSamples, rule, reason, timestamp, null, null, null);
  }

  /** A verdict without a drift time. */
  public Decision(int schema, String model, Verdict verdict, ModelScore candidate, ModelScore champion, int recentSamples,
      int guardSamples, String rule, String reason, Instant timestamp, Double mcnemarP, Integer onlyCandidateRight,
      Integer onlyChampionRight) {
    this(schema, model, verdict, candidate, champion, recentSamples, guardSamples, rule, reason, timestamp, mcnemarP,
        onlyCandidateRight, onlyChampionRight, null);
  }

  /**
   * This verdict on a candidate that answers the drift detected at {@code at} (null: none): {@code driftAt} and
   * {@link #adaptSeconds()} say how long the loop took from the drift to this verdict.
   */
  public Decision answering(Instant at) {
    return new Decision(schema, model, verdict, candidate, champion, recentSamples, guardSamples, rule, reason, timestamp, mcnemarP,
        onlyCandidateRight, onlyChampionRight, at);
  }

  /** Seconds from the drift the candidate answers to this verdict; null without a drift time. */
  public Double adaptSeconds() {
    return driftAt == null ? null : java.time.Duration.between(driftAt, timestamp).toMillis() / 1000.0;
  }
}
