package dev.streamtune.trainer.internal;

import dev.streamtune.core.records.DriftSignal;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Turns drift signals into retrains without storms: a supervised signal (kind PERFORMANCE: labelled outcomes got worse) for
 * the version being served arms the trigger (a stale one, for an older version, is ignored); a retrain starts when enough new
 * samples arrived since the onset, or after {@code maxWait} on at least a quarter of them; never while one runs, nor within
 * {@code cooldown} of the last.
 *
 * <p>A label-free signal (kind DATA: the inputs or the confidences changed) only marks a <em>suspected</em> shift: the trainer
 * arms it ({@link #confirm}) once labelled samples since its onset show the champion doing worse, and a supervised signal that
 * arrives first takes its place. While nothing has started training, a supervised signal also replaces an armed label-free one
 * ({@link Reaction#REANCHORED}): its onset is the change point of the labelled errors, a better place to start the new domain
 * than the start of a test window.
 *
 * <p>A candidate the gate rejects leaves the drift unanswered while the same version serves: {@link #onRejected} re-arms the
 * signal it was trained for, and the retry waits for {@code minNewSamples} more new-domain samples than the rejected candidate
 * had (more data, not the same data again), up to {@code maxAttempts} candidates per signal. A promotion ends the attempts.
 * Pure; one owner.
 */
public final class TriggerPolicy {
  private final int minNewSamples;
  private final Duration cooldown;
  private final Duration maxWait;
  private final int maxAttempts;
  private DriftSignal armed;
  /** A label-free signal on the serving version, not confirmed by labels yet. */
  private DriftSignal suspected;
  /** The new samples the armed signal waits for: {@code minNewSamples}, more on a retry. */
  private int required;
  /** The signal of the last retrain, the new samples it used and how many retrains it had. */
  private DriftSignal last;
  private int lastNewSamples;
  private int attempts;
  private Instant armedAt;
  private Instant lastRetrain;
  private boolean running;

  public TriggerPolicy(int minNewSamples, Duration cooldown, Duration maxWait, int maxAttempts) {
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be at least 1, was " + maxAttempts);
    }
    this.minNewSamples = minNewSamples;
    this.cooldown = cooldown;
    this.maxWait = maxWait;
    this.maxAttempts = maxAttempts;
  }

  /** What happened to a signal, or to a rejection. */
  public enum Reaction { ARMED, ALREADY_ARMED, STALE_VERSION, RETRY, GIVEN_UP, SUSPECTED, REANCHORED }

  public Reaction onDrift(DriftSignal d, int servingVersion, Instant now) {
    if (d.version() != servingVersion) {
      return Reaction.STALE_VERSION;
    }
    boolean supervised = d.kind() == DriftSignal.Kind.PERFORMANCE;
    if (armed != null) {
      if (supervised && armed.kind() == DriftSignal.Kind.DATA && !running && armed != last) {
        armed = d; // the labelled errors' change point: a better onset, and the retrain has not started
        return Reaction.REANCHORED;
      }
      return Reaction.ALREADY_ARMED;
    }
    if (!supervised) {
      if (suspected == null) {
        suspected = d;
      }
      return Reaction.SUSPECTED;
    }
    suspected = null;
    return arm(d, now);
  }

  private Reaction arm(DriftSignal d, Instant now) {
    armed = d;
    armedAt = now;
    required = minNewSamples;
    return Reaction.ARMED;
  }

  /** The label-free signal waiting for labels to confirm it, if any. */
  public Optional<DriftSignal> suspected() {
    return Optional.ofNullable(suspected);
  }

  /** Labels confirmed the suspected shift: it is armed (when nothing else is). */
  public Reaction confirm(Instant now) {
    if (suspected == null) {
      return Reaction.STALE_VERSION;
    }
    DriftSignal d = suspected;
    suspected = null;
    return armed != null ? Reaction.ALREADY_ARMED : arm(d, now);
  }

  /** Labels did not confirm the suspected shift in time: it is forgotten. */
  public void dismiss() {
    suspected = null;
  }

  /**
   * The gate rejected the candidate of the last retrain while {@code servingVersion} still serves: re-arms its signal for a
   * retry on more samples, unless it had {@code maxAttempts} candidates already (or serving moved on, or a signal is armed).
   */
  public Reaction onRejected(int servingVersion, Instant now) {
    return onRejected(servingVersion, now, false);
  }

  /**
   * {@link #onRejected(int, Instant)}; with {@code sameSamples} the retry needs no more samples than the rejected candidate had
   * (the retrain will differ in its recipe, e.g. fewer layers unfrozen after the candidate forgot), so it runs once the
   * cooldown allows.
   */
  public Reaction onRejected(int servingVersion, Instant now, boolean sameSamples) {
    if (last == null || last.version() != servingVersion) {
      return Reaction.STALE_VERSION;
    }
    if (armed != null) {
      return Reaction.ALREADY_ARMED;
    }
    if (attempts >= maxAttempts) {
      return Reaction.GIVEN_UP;
    }
    armed = last;
    armedAt = now;
    required = sameSamples ? lastNewSamples : lastNewSamples + minNewSamples;
    return Reaction.RETRY;
  }

  /** Retrains run for the armed signal (or the last one) so far: 1 for the first candidate, 2 for its first retry… */
  public int attempts() {
    return attempts;
  }

  /** The serving version changed: a signal armed for the old one no longer applies. */
  public void onPromotion(int version) {
    if (armed != null && armed.version() != version) {
      armed = null;
    }
    if (suspected != null && suspected.version() != version) {
      suspected = null;
    }
    if (last != null && last.version() != version) {
      last = null;
      attempts = 0;
    }
  }

  /** The signal to retrain on now, given the new samples counted since its onset; empty when not yet. */
  public Optional<DriftSignal> due(int newSamples, Instant now) {
    if (armed == null || running) {
      return Optional.empty();
    }
    if (lastRetrain != null && Duration.between(lastRetrain, now).compareTo(cooldown) < 0) {
      return Optional.empty();
    }
    boolean enough = newSamples >= required;
    // what the last candidate of this signal had (0 before the first): a retry waits out on more than that, as the same
    // samples again would make the same candidate
    int had = required - minNewSamples;
    boolean waitedOut = Duration.between(armedAt, now).compareTo(maxWait) >= 0
        && newSamples >= Math.max(1, had + minNewSamples / 4) && newSamples > had;
    if (enough || waitedOut) {
      running = true;
      if (last != armed) {
        attempts = 0;
      }
      last = armed;
      lastNewSamples = newSamples;
      attempts++;
      return Optional.of(armed);
    }
    return Optional.empty();
  }

  /**
   * Another trainer of the model (the active one, this being a standby) answered the armed signal with a candidate made from
   * {@code newSamples} new-domain samples: counted as this trainer's own retrain, so a takeover neither retrains it again nor
   * forgets the attempts. Ignored while nothing is armed or a retrain of this trainer runs.
   */
  public void adopt(int newSamples, Instant now) {
    if (armed == null || running) {
      return;
    }
    if (last != armed) {
      attempts = 0;
    }
    last = armed;
    lastNewSamples = newSamples;
    attempts++;
    finished(now);
  }

  /** A retrain ended (with or without a candidate). */
  public void finished(Instant now) {
    running = false;
    armed = null;
    lastRetrain = now;
  }

  public Optional<DriftSignal> armed() {
    return Optional.ofNullable(armed);
  }
}
