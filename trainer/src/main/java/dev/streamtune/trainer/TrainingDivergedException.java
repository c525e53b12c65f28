package dev.streamtune.trainer;

/**
 * A fine-tune whose loss or weights stopped being finite numbers (NaN or infinite): its network must not become a candidate.
 * Thrown by {@link FineTuner} as soon as it is seen, so a diverged retrain costs no more epochs.
 */
public final class TrainingDivergedException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  public TrainingDivergedException(String message) {
    super(message);
  }
}
