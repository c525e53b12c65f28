package dev.streamtune.core.learn;

import java.nio.charset.StandardCharsets;
import org.apache.kafka.common.utils.Utils;

/**
 * The holdout rule: a stable hash of the sample id puts a fixed share of samples into evaluation only. The trainer never trains
 * on them; the gate scores on them. Pure and thread-safe; the same id gives the same answer in every process and release.
 */
public final class Holdout {
  private static final int BUCKETS = 10_000;

  private Holdout() {}

  /** True when the sample is held out for evaluation. */
  public static boolean isHeldOut(String sampleId, double share) {
    if (!(share >= 0 && share <= 1)) {
      throw new IllegalArgumentException("holdout share must be in [0,1], was " + share);
    }
    int h = Utils.toPositive(Utils.murmur2(sampleId.getBytes(StandardCharsets.UTF_8)));
    return (h % BUCKETS) < share * BUCKETS;
  }
}
