package dev.streamtune.trainer.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.records.DriftSignal;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class TriggerPolicyTest {
  private final Instant t0 = Instant.parse("2026-01-01T00:00:00Z");
  private final TriggerPolicy policy = new TriggerPolicy(100, Duration.ofMinutes(1), Duration.ofMinutes(5), 2);

  private DriftSignal drift(int version) {
    return new DriftSignal(Versioned.CURRENT, "fashion", version, DriftSignal.Kind.PERFORMANCE, "page-hinkley", 60, 50, 300, t0,
        t0, 0.9, 0.5);
  }

  private DriftSignal labelFree(int version, Instant onset) {
    return new DriftSignal(Versioned.CURRENT, "fashion", version, DriftSignal.Kind.DATA, "confidence-ks", 0.3, 0.2, 900, onset,
        onset.plusSeconds(20), Double.NaN, Double.NaN);
  }

  @Test
  void shouldOnlySuspectALabelFreeShiftUntilLabelsConfirmIt() {
    DriftSignal d = labelFree(1, t0);
    assertThat(policy.onDrift(d, 1, t0)).isEqualTo(TriggerPolicy.Reaction.SUSPECTED);
    assertThat(policy.armed()).isEmpty();
    assertThat(policy.due(10_000, t0.plusSeconds(600))).as("nothing trains on a suspicion").isEmpty();
    assertThat(policy.suspected()).contains(d);
    assertThat(policy.confirm(t0.plusSeconds(30))).isEqualTo(TriggerPolicy.Reaction.ARMED);
    assertThat(policy.armed()).contains(d);
    assertThat(policy.suspected()).isEmpty();
  }

  @Test
  void shouldLetASupervisedSignalTakeThePlaceOfALabelFreeOneNotYetTrainedOn() {
    DriftSignal data = labelFree(1, t0);
    policy.onDrift(data, 1, t0);
    policy.confirm(t0.plusSeconds(30));
    DriftSignal supervised = drift(1);
    assertThat(policy.onDrift(supervised, 1, t0.plusSeconds(40))).isEqualTo(TriggerPolicy.Reaction.REANCHORED);
    assertThat(policy.armed()).contains(supervised);
    assertThat(policy.due(100, t0.plusSeconds(50))).contains(supervised);
    assertThat(policy.onDrift(labelFree(1, t0.plusSeconds(45)), 1, t0.plusSeconds(60)))
        .as("a label-free signal never replaces one").isEqualTo(TriggerPolicy.Reaction.ALREADY_ARMED);
  }

  @Test
  void shouldArmASupervisedSignalAtOnceAndForgetASuspicionOfAnotherVersion() {
    policy.onDrift(labelFree(1, t0), 1, t0);
    assertThat(policy.onDrift(drift(1), 1, t0)).isEqualTo(TriggerPolicy.Reaction.ARMED);
    assertThat(policy.suspected()).as("the supervised signal answers the suspicion").isEmpty();
    policy.onDrift(labelFree(2, t0), 2, t0);
    policy.onPromotion(3);
    assertThat(policy.suspected()).isEmpty();
  }

  @Test
  void shouldRetrainOnceEnoughNewSamplesArrivedForTheServingVersion() {
    assertThat(policy.onDrift(drift(1), 2, t0)).isEqualTo(TriggerPolicy.Reaction.STALE_VERSION);
    assertThat(policy.onDrift(drift(2), 2, t0)).isEqualTo(TriggerPolicy.Reaction.ARMED);
    assertThat(policy.onDrift(drift(2), 2, t0)).isEqualTo(TriggerPolicy.Reaction.ALREADY_ARMED);
    assertThat(policy.due(99, t0.plusSeconds(1))).isEmpty();
    assertThat(policy.due(100, t0.plusSeconds(2))).isPresent();
    assertThat(policy.due(500, t0.plusSeconds(3))).as("one retrain at a time").isEmpty();
  }

  @Test
  void shouldCoolDownAfterARetrainAndRetrainOnWhatThereIsAfterTheMaximumWait() {
    policy.onDrift(drift(1), 1, t0);
    assertThat(policy.due(100, t0)).isPresent();
    policy.finished(t0.plusSeconds(10));
    policy.onDrift(drift(1), 1, t0.plusSeconds(20));
    assertThat(policy.due(1_000, t0.plusSeconds(30))).as("cool-down").isEmpty();
    assertThat(policy.due(10, t0.plusSeconds(200))).as("not enough yet").isEmpty();
    assertThat(policy.due(25, t0.plusSeconds(400))).as("waited out with a quarter").isPresent();
  }

  @Test
  void shouldDropAnArmedSignalWhenAnotherVersionIsPromoted() {
    policy.onDrift(drift(1), 1, t0);
    policy.onPromotion(2);
    assertThat(policy.armed()).isEmpty();
  }

  @Test
  void shouldRetryARejectedCandidateOnMoreSamplesUpToTheAttemptLimit() {
    policy.onDrift(drift(1), 1, t0);
    assertThat(policy.due(120, t0)).isPresent();
    policy.finished(t0.plusSeconds(10));
    assertThat(policy.onRejected(1, t0.plusSeconds(12))).isEqualTo(TriggerPolicy.Reaction.RETRY);
    assertThat(policy.armed()).as("the same signal, re-armed").contains(drift(1));
    assertThat(policy.due(200, t0.plusSeconds(100))).as("needs 100 more than the 120 it had").isEmpty();
    assertThat(policy.due(220, t0.plusSeconds(101))).isPresent();
    assertThat(policy.attempts()).isEqualTo(2);
    policy.finished(t0.plusSeconds(110));
    assertThat(policy.onRejected(1, t0.plusSeconds(112))).as("two candidates were the limit")
        .isEqualTo(TriggerPolicy.Reaction.GIVEN_UP);
    assertThat(policy.armed()).isEmpty();
  }

  @Test
  void shouldRetryOnTheSameSamplesWhenTheRecipeChanges() {
    policy.onDrift(drift(1), 1, t0);
    assertThat(policy.due(120, t0)).isPresent();
    policy.finished(t0.plusSeconds(10));
    assertThat(policy.onRejected(1, t0.plusSeconds(12), true)).isEqualTo(TriggerPolicy.Reaction.RETRY);
    assertThat(policy.due(120, t0.plusSeconds(100))).as("the 120 samples it had are enough").isPresent();
    assertThat(policy.attempts()).isEqualTo(2);
  }

  @Test
  void shouldNotRetryWhenAnotherVersionServesOrAFreshSignalIsArmed() {
    policy.onDrift(drift(1), 1, t0);
    policy.due(100, t0);
    policy.finished(t0.plusSeconds(10));
    assertThat(policy.onRejected(2, t0.plusSeconds(11))).isEqualTo(TriggerPolicy.Reaction.STALE_VERSION);
    policy.onDrift(drift(1), 1, t0.plusSeconds(12));
    assertThat(policy.onRejected(1, t0.plusSeconds(13))).isEqualTo(TriggerPolicy.Reaction.ALREADY_ARMED);
    policy.onPromotion(2);
    assertThat(policy.onRejected(2, t0.plusSeconds(14))).isEqualTo(TriggerPolicy.Reaction.STALE_VERSION);
  }

  @Test
  void shouldAdoptACandidateOfAnotherTrainerAsItsOwnAttempt() {
    policy.onDrift(drift(1), 1, t0);
    policy.adopt(120, t0.plusSeconds(10));
    assertThat(policy.armed()).as("answered by the other trainer").isEmpty();
    assertThat(policy.attempts()).isEqualTo(1);
    assertThat(policy.onRejected(1, t0.plusSeconds(12))).isEqualTo(TriggerPolicy.Reaction.RETRY);
    assertThat(policy.due(200, t0.plusSeconds(100))).as("needs 100 more than the 120 the adopted one had").isEmpty();
    assertThat(policy.due(220, t0.plusSeconds(101))).isPresent();
  }
}
