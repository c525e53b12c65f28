package dev.streamtune.standalone.eval;

import java.util.List;

/**
 * Every size of an evaluation run, stated in the output. {@link #defaults()} fits the whole run into about 15 minutes on an idle
 * 2-core machine; {@link #quick()} is a smoke run of about a minute.
 *
 * @param labelRows new-domain label counts, one table row per method for each (largest first)
 * @param cleanStream clean labelled samples that reach the trainer's buffer before the shift (replay candidates, from the base's
 *     own training images; {@code --clean-stream}). The trainer's default buffer holds 10,000 (6,000 recent + 4,000 reservoir)
 *     and is full when a shift comes to a trainer that has run a while: 10,000 by default (the pages measured with replay-ratio 2
 *     streamed 6,000)
 * @param streamBefore clean labelled outcomes the detectors see before the shift (unseen images)
 * @param testPerDomain held-out TEST images per domain for the reported accuracies
 * @param gatePerSet held-out TEST images in each of the gate's recent and guard sets (disjoint from the reported ones)
 * @param validation held-out TEST images for the oracle's early stopping (disjoint from both)
 * @param oracleClean clean source images in the oracle's training set (by default the whole source split, train[0, 50000): the
 *     base's own training images; train[50000, 60000) is the pool the new domains' images come from)
 * @param oracleMaxEpochs the oracle's epoch cap; it stops earlier when its held-out accuracy has not improved for
 *     {@link Learner#ORACLE_PATIENCE} epochs
 * @param epochs fine-tune epochs (the trainer's default) and the scratch baseline's epochs
 * @param falseAlarmOutcomes length of the stationary outcome stream for the false-alarm count
 * @param base8Images clean images for the 8-class base of the new-classes scenario
 * @param baseImages clean images for the base when the store has none
 * @param labelCurve new-domain label counts of the label-efficiency curves (abrupt shifts), ascending; empty: none
 */
record EvalOptions(List<Integer> labelRows, int cleanStream, int streamBefore, int testPerDomain, int gatePerSet, int validation,
    int oracleClean, int oracleMaxEpochs, int epochs, int falseAlarmOutcomes, int base8Images, int baseImages,
    List<Integer> labelCurve) {
  /** The most clean TEST images the forgetting is measured on: those below the gate's sets ({@link Scenarios#GATE_FROM}). */
  static final int CLEAN_MAX = Scenarios.GATE_FROM;

  EvalOptions {
    labelRows = List.copyOf(labelRows);
    labelCurve = labelCurve.stream().sorted().distinct().toList();
    if (labelCurve.stream().anyMatch(n -> n < 10 || n > 5000)) {
      throw new IllegalArgumentException("label curve counts must be 10..5000 each, were " + labelCurve);
    }
    if (labelRows.isEmpty() || labelRows.stream().anyMatch(n -> n < 10 || n > 5000)) {
      throw new IllegalArgumentException("label rows must be 10..5000 each, were " + labelRows);
    }
    if (testPerDomain < 50 || testPerDomain > 5000 || gatePerSet < 20 || gatePerSet > 3000 || validation < 20
        || validation > 2000) {
      throw new IllegalArgumentException("test sets: 50..5000 per domain, gate 20..3000, validation 20..2000; were "
          + testPerDomain + ", " + gatePerSet + ", " + validation);
    }
    if (cleanStream < 100 || cleanStream > 50_000) {
      throw new IllegalArgumentException("the clean stream must be 100..50000 samples (the source split), was " + cleanStream);
    }
    if (streamBefore < 50 || oracleClean < 100 || oracleMaxEpochs < 1 || epochs < 1
        || falseAlarmOutcomes < 1000 || base8Images < 500 || baseImages < 500) {
      throw new IllegalArgumentException("sizes too small: " + cleanStream + ", " + streamBefore + ", " + oracleClean + ", "
          + oracleMaxEpochs + ", " + epochs + ", " + falseAlarmOutcomes + ", " + base8Images + ", " + baseImages);
    }
  }

  static EvalOptions defaults() {
    return new EvalOptions(List.of(2000, 500), 10_000, 1000, 1000, 1000, 1000, 50_000, 15, 3, 100_000, 8_000, 50_000, List.of());
  }

  static EvalOptions quick() {
    return new EvalOptions(List.of(120, 40), 200, 100, 60, 40, 40, 200, 1, 1, 5_000, 600, 1000, List.of(40, 120));
  }

  /** These sizes with the label-efficiency curve at {@code counts}. */
  EvalOptions withLabelCurve(List<Integer> counts) {
    return new EvalOptions(labelRows, cleanStream, streamBefore, testPerDomain, gatePerSet, validation, oracleClean,
        oracleMaxEpochs, epochs, falseAlarmOutcomes, base8Images, baseImages, counts);
  }

  /** These sizes with {@code samples} clean samples streamed into the trainer's buffer before each shift. */
  EvalOptions withCleanStream(int samples) {
    return new EvalOptions(labelRows, samples, streamBefore, testPerDomain, gatePerSet, validation, oracleClean,
        oracleMaxEpochs, epochs, falseAlarmOutcomes, base8Images, baseImages, labelCurve);
  }

  int maxLabels() {
    return labelRows.stream().mapToInt(Integer::intValue).max().orElseThrow();
  }

  /**
   * Clean TEST images per scenario for the earlier domain's accuracy, the one forgetting is the difference of: five times
   * {@link #testPerDomain} (at most {@link #CLEAN_MAX}): forgetting is a paired difference of about a point, and on 1,000
   * images one where 5 % of them are answered differently has a standard error of 0.7 points (0.3 on 5,000).
   */
  int cleanPerDomain() {
    return Math.min(CLEAN_MAX, 5 * testPerDomain);
  }
}
