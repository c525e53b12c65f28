package dev.streamtune.standalone.eval;

import java.util.Map;

/**
 * One method on one scenario with one label budget. Accuracies are on held-out TEST images; NaN where not applicable.
 *
 * @param method one of {@link #METHODS}
 * @param labels new-domain labelled samples the method trained on (0 for no adaptation)
 * @param replay earlier-domain samples replayed with them
 * @param accNewBefore the serving model's accuracy on the new domain
 * @param oracle the oracle's accuracy on the new domain
 * @param cleanBefore the serving model's accuracy on the earlier (clean) domain
 * @param seconds time to adapt: seconds of training, frozen activations included
 * @param epochs epochs trained (the oracle's until its held-out accuracy stopped improving; 0 without training)
 * @param fromShift labelled new-domain samples from the shift until this retrain could start (the trainer starts once a
 *     detector has alarmed and {@code labels} have arrived after the onset), -1 when no detector caught the shift, 0 where no
 *     retrain applies
 * @param gateSeconds seconds the gate took to answer on this candidate (its inference on both gate sets and the rule)
 * @param verdict the gate's verdict on this model as a candidate against the serving model, or "-" without a candidate
 * @param extras further test sets' accuracies (name to accuracy)
 */
record Row(String scenario, int labels, String method, String boundary, int replay, double accNewBefore, double accNewAfter,
    double oracle, double cleanBefore, double cleanAfter, double seconds, int epochs, int fromShift, double gateSeconds,
    String verdict, String gateReason, Map<String, Double> extras) {
  static final String NONE = "no adaptation";
  static final String HEAD = "head only";
  static final String STREAMTUNE = "StreamTune (freeze policy)";
  /** Frozen up to the deepest boundary the spec declares (the CNN's conv2, the graph's last block), at the lower rate. */
  static final String DEEPER = "deeper (one more block, at the lower rate)";
  /**
   * StreamTune's recipe and freeze plan on 500 labels of served images after an abrupt shift, chosen in different ways (each the
   * mean of three draws): when all the traffic shifted, what the labelling queue asks for (a uniform sample of the drift region,
   * i.e. random feedback), the least sure answers, BADGE; when half of it shifted (one of two cameras), the queue's uniform
   * sample and a novelty-weighted one.
   */
  static final String ALL_QUEUE = "labels: the queue's (uniform), all shifted";
  static final String ALL_MARGIN = "labels: least sure (margin), all shifted";
  static final String ALL_BADGE = "labels: BADGE, all shifted";
  static final String HALF_QUEUE = "labels: the queue's (uniform), half shifted";
  static final String HALF_NOVELTY = "labels: novelty-weighted, half shifted";
  /** The ways of choosing labels, compared on the abrupt shifts only. */
  static final java.util.List<String> LABEL_CHOICES = java.util.List.of(ALL_QUEUE, ALL_MARGIN, ALL_BADGE, HALF_QUEUE,
      HALF_NOVELTY);
  /** StreamTune's recipe plus pseudo-labels on the served new-domain images without a label (abrupt shifts). */
  static final String PSEUDO = "StreamTune + pseudo-labels";
  /**
   * A new classifier (fc + head) on the deepest boundary's activations, every layer above dropped: the field's advice for a
   * far domain (abrupt shifts, grey CNN).
   */
  static final String EARLIER = "new head on an earlier stage";
  static final String SCRATCH = "scratch on buffer";
  static final String ORACLE = "oracle";
  static final java.util.List<String> METHODS = java.util.List.of(NONE, HEAD, STREAMTUNE, PSEUDO, ALL_QUEUE, ALL_MARGIN, ALL_BADGE, HALF_QUEUE,
      HALF_NOVELTY, DEEPER, EARLIER, SCRATCH, ORACLE);

  /** Accuracy after over the oracle's, NaN without an oracle. */
  double ratio() {
    return oracle > 0 ? accNewAfter / oracle : Double.NaN;
  }

  /** Points of clean accuracy lost (positive = forgot). */
  double forgettingPoints() {
    return (cleanBefore - cleanAfter) * 100;
  }
}
