package dev.streamtune.trainer.internal;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Set;

/**
 * The latest served inputs (the {@code inputs} topic) for pseudo-labelling, as served (encoded: a few kilobytes each, decoded only
 * for a retrain that uses them): at most {@code capacity} of them, the oldest dropped first. Read by the trainer's loop thread
 * and copied out for a retrain. Not thread-safe.
 */
public final class UnlabelledPool {
  /** A served input: its prediction id, when it was served and the image bytes as served. */
  public record Input(String id, Instant at, byte[] image) {}

  private final int capacity;
  private final Deque<Input> inputs = new ArrayDeque<>();

  public UnlabelledPool(int capacity) {
    if (capacity < 1) {
      throw new IllegalArgumentException("capacity must be >= 1, was " + capacity);
    }
    this.capacity = capacity;
  }

  public void add(Input x) {
    inputs.addLast(x);
    while (inputs.size() > capacity) {
      inputs.removeFirst();
    }
  }

  public int size() {
    return inputs.size();
  }

  /**
   * The inputs served at or after {@code onset} whose id is not in {@code labelled} (a labelled one trains with its label), at
   * most {@code max}, the latest kept.
   */
  public List<Input> since(Instant onset, Set<String> labelled, int max) {
    List<Input> out = new ArrayList<>();
    var it = inputs.descendingIterator();
    while (it.hasNext() && out.size() < max) {
      Input x = it.next();
      if (!x.at().isBefore(onset) && !labelled.contains(x.id())) {
        out.add(x);
      }
    }
    java.util.Collections.reverse(out);
    return out;
  }
}
