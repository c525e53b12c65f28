package dev.streamtune.standalone.eval;

import java.util.ArrayList;
import java.util.List;

/**
 * One labelled image of a scenario: a stable id (the feature cache keys on it), pixels in [0,1] and the label index.
 *
 * @param id unique within a backbone's cache: names the split, the index and the domain
 */
record Labelled(String id, float[] px, int label) {
  static List<float[]> images(List<Labelled> xs) {
    List<float[]> out = new ArrayList<>(xs.size());
    xs.forEach(x -> out.add(x.px()));
    return out;
  }

  /** A hash of the images and labels, in order: two lists with the same fingerprint hold (almost surely) the same data. */
  static int fingerprint(List<Labelled> xs) {
    int h = 1;
    for (Labelled x : xs) {
      h = 31 * (31 * h + java.util.Arrays.hashCode(x.px())) + x.label();
    }
    return h;
  }

  static int[] labels(List<Labelled> xs) {
    return xs.stream().mapToInt(Labelled::label).toArray();
  }

  static List<String> ids(List<Labelled> xs) {
    return xs.stream().map(Labelled::id).toList();
  }
}
