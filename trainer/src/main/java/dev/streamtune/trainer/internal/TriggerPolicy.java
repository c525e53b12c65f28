package dev.streamtune.trainer.internal;

import dev.streamtune.core.records.DriftSignal;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Turns drift signals into retrains without storms: a signal for the version being served arms the trigger (a stale one, for an
 * older version, is ignored); a retrain starts when enough new samples arrived since the onset, or after {@code maxWait} on at
 * least a quarter of them; never while one runs, nor within {@code cooldown} of the last. Pure; one owner.
 */
public final class TriggerPolicy {
  private final int minNewSamples;
  private final Duration cooldown;
  private final Duration maxWait;
  private DriftSignal armed;
  private Instant armedAt;
  private Instant lastRetrain;
  private boolean running;

  public TriggerPolicy(int minNewSamples, Duration cooldown, Duration maxWait) {
    this.minNewSamples = minNewSamples;
    this.cooldown = cooldown;
    this.maxWait = maxWait;
  }

  /** What happened to a signal. */
  public enum Reaction { ARMED, ALREADY_ARMED, STALE_VERSION }

  public Reaction onDrift(DriftSignal d, int servingVersion, Instant now) {
    if (d.version() != servingVersion) {
      return Reaction.STALE_VERSION;
    }
    if (armed != null) {
      return Reaction.ALREADY_ARMED;
    }
    armed = d;
    armedAt = now;
    return Reaction.ARMED;
  }

  /** The serving version changed: a signal armed for the old one no longer applies. */
  public void onPromotion(int version) {
    if (armed != null && armed.version() != version) {
      armed = null;
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
    boolean enough = newSamples >= minNewSamples;
    boolean waitedOut = Duration.between(armedAt, now).compareTo(maxWait) >= 0 && newSamples >= Math.max(1, minNewSamples / 4);
    if (enough || waitedOut) {
      running = true;
      return Optional.of(armed);
    }
    return Optional.empty();
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
