package dev.streamtune.trainer.internal;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/** The append-only label order of a model. Pure. */
public final class LabelSets {
  private LabelSets() {}

  /**
   * The label set a retrain trains for: the model's labels, each at its index, then every label of the training samples that
   * the model lacks, in the order it was first seen (labels seen once but absent from this training set are not added: a class
   * with no sample to learn from would only take probability).
   *
   * @param known the model's labels, index = output unit
   * @param arrivalOrder labels in the order they were first seen on {@code samples}
   * @param training the labels of this retrain's samples
   */
  public static List<String> grow(List<String> known, List<String> arrivalOrder, Collection<String> training) {
    Set<String> present = new HashSet<>(training);
    Set<String> have = new HashSet<>(known);
    List<String> out = new ArrayList<>(known);
    for (String l : arrivalOrder) {
      if (present.contains(l) && have.add(l)) {
        out.add(l);
      }
    }
    // a training label missing from the arrival order (cannot happen when both come from one buffer) still gets a unit
    for (String l : training) {
      if (have.add(l)) {
        out.add(l);
      }
    }
    return List.copyOf(out);
  }
}
