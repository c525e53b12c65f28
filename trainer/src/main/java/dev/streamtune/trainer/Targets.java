package dev.streamtune.trainer;

import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * What a fine-tune fits: one row of class probabilities per training sample. A label is its one-hot row; under distillation a
 * replayed (earlier-domain) sample's row mixes its label with the parent model's answer, {@code (1 - w) * label + w * parent},
 * so the fine-tune keeps the parent's function on the earlier domains where the new domain does not ask it to change
 * (learning without forgetting on replayed inputs; the cross-entropy of the mix is the label's plus {@code w} times the
 * distillation term).
 *
 * <p>The other conservative option the field offers, L2-SP (hold the trained layers near the parent's weights), was measured
 * against it as a decoupled pull after each step, {@code w -= k (w - w_parent)} ({@code eval --scenarios invert --label-curve
 * 200,500 --no-oracle}, 2026-12-02): at k = 0.01 forgetting at 500 labels fell from +1.2–2.3 to +0.8–0.9 points but the
 * new-domain accuracy by 3 points (plain 0.758/0.746 to 0.727/0.715); at k = 0.03 by 9–11 points. Distillation keeps the
 * new-domain accuracy (0.769/0.748 at weight 0.5) with forgetting +1.4–1.5; neither meets 0.90 of the oracle with at most 1
 * point of forgetting there, so L2-SP was not added.
 */
public final class Targets {
  private final INDArray y;

  private Targets(INDArray y) {
    this.y = y;
  }

  /** One-hot rows of {@code labels} over {@code classes} outputs. */
  public static Targets oneHot(int[] labels, int classes) {
    INDArray y = Nd4j.zeros(DataType.FLOAT, labels.length, classes);
    for (int i = 0; i < labels.length; i++) {
      if (labels[i] < 0 || labels[i] >= classes) {
        throw new IllegalArgumentException("label index " + labels[i] + " outside the " + classes + " outputs");
      }
      y.putScalar(i, labels[i], 1f);
    }
    return new Targets(y);
  }

  /**
   * One-hot rows, except rows {@code from..} (the replayed samples), which mix their label with the parent's probabilities
   * {@code parent} ({@code [N - from, parentClasses]}; a class the parent lacks, e.g. after head growth, gets 0 from it).
   *
   * @param weight the parent's share in [0, 1)
   */
  public static Targets distilled(int[] labels, int classes, INDArray parent, int from, double weight) {
    Objects.requireNonNull(parent, "parent");
    if (!(weight >= 0 && weight < 1)) {
      throw new IllegalArgumentException("distillation weight must be in [0, 1), was " + weight);
    }
    if (from < 0 || parent.rows() != labels.length - from || parent.columns() > classes) {
      throw new IllegalArgumentException("parent answers [" + parent.rows() + ", " + parent.columns() + "] do not fit rows "
          + from + ".." + labels.length + " of " + classes + " outputs");
    }
    Targets t = oneHot(labels, classes);
    if (weight == 0 || parent.rows() == 0) {
      return t;
    }
    float w = (float) weight;
    INDArray mixed = t.y.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(from, labels.length),
        org.nd4j.linalg.indexing.NDArrayIndex.all());
    mixed.muli(1 - w);
    INDArray p = parent.castTo(DataType.FLOAT);
    mixed.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
        org.nd4j.linalg.indexing.NDArrayIndex.interval(0, p.columns())).addi(p.mul(w));
    return t;
  }

  public int size() {
    return (int) y.rows();
  }

  public int classes() {
    return (int) y.columns();
  }

  /** The target rows of samples {@code idx}, in that order. */
  INDArray rows(int[] idx) {
    return Nd4j.pullRows(y, 1, idx);
  }

  /** All target rows, {@code [N, classes]}. */
  INDArray all() {
    return y;
  }
}
