package dev.streamtune.evaluator;

import java.time.Duration;
import java.util.Objects;

/**
 * The labelling queue ({@code streamtune.evaluator.labelling.*}): the served inputs that the feature check samples are scored by
 * {@link dev.streamtune.core.learn.LabelPriority} (uncertainty, novelty against the first {@code reference} sampled inputs of
 * the champion, the drift region) and kept, at most {@code pendingMax} and for at most {@code maxAge}; every {@code interval}
 * the best of them, {@code budgetPerMinute × interval / 60} at a time (fractions carried over), go to
 * {@code labelling.requests}. A budget of 0 turns the queue off. Immutable.
 */
public record Labelling(int budgetPerMinute, Duration interval, int pendingMax, Duration maxAge, int reference) {
  public Labelling {
    Objects.requireNonNull(interval, "interval");
    Objects.requireNonNull(maxAge, "maxAge");
    if (budgetPerMinute < 0 || interval.isNegative() || interval.isZero() || pendingMax < 1 || maxAge.isNegative()
        || maxAge.isZero() || reference < 10) {
      throw new IllegalArgumentException("the labelling queue needs budgetPerMinute >= 0, interval > 0, pendingMax >= 1, "
          + "maxAge > 0, reference >= 10; was " + budgetPerMinute + ", " + interval + ", " + pendingMax + ", " + maxAge + ", "
          + reference);
    }
  }

  public static final String BUDGET_KEY = "streamtune.evaluator.labelling.budget-per-minute";

  public boolean enabled() {
    return budgetPerMinute > 0;
  }

  /** Requests due per interval (a fraction; the queue carries the rest over). */
  public double perInterval() {
    return budgetPerMinute * (interval.toMillis() / 60_000.0);
  }
}
