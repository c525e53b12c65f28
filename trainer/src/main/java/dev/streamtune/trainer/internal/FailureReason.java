package dev.streamtune.trainer.internal;

import dev.streamtune.trainer.CorruptFeatureCacheException;
import dev.streamtune.trainer.TrainingDivergedException;

/** Why a retrain failed, as the bounded {@code reason} tag of {@code streamtune.trainer.failures} and the failure record. */
public enum FailureReason {
  NAN_LOSS("nan-loss"),
  OUT_OF_MEMORY("out-of-memory"),
  CORRUPT_CACHE("corrupt-cache"),
  ERROR("error");

  private final String tag;

  FailureReason(String tag) {
    this.tag = tag;
  }

  /** The metric tag and the first word of the failure text. */
  public String tag() {
    return tag;
  }

  /** The reason for a throwable: its own type or, for a wrapped one, the type of a cause. */
  public static FailureReason of(Throwable t) {
    for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (c instanceof OutOfMemoryError) {
        return OUT_OF_MEMORY;
      }
      if (c instanceof TrainingDivergedException) {
        return NAN_LOSS;
      }
      if (c instanceof CorruptFeatureCacheException) {
        return CORRUPT_CACHE;
      }
    }
    return ERROR;
  }
}
