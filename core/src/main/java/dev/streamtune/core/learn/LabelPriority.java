package dev.streamtune.core.learn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * What a label on a served input would teach, as one number in [0, 3]: the ranking of the labelling queue, shared by the
 * evaluator (which publishes the queue) and {@code eval} (which measures it against random feedback).
 *
 * <ul>
 *   <li><b>uncertainty</b> = 1 − (p₁ − p₂), the margin between the model's two most probable classes turned round: 1 when it
 *       cannot tell them apart, 0 when it is sure (margin sampling);
 *   <li><b>novelty</b> = d / (d + s): d is the distance from the input's embedding to the nearest embedding of the reference
 *       (inputs the champion answered when it started serving, a stand-in for what it was trained on), s the median of the
 *       reference's own nearest-neighbour distances; 0.5 for a typical input, towards 1 far from everything seen;
 *   <li><b>drift</b>: inputs served after the onset of a drift alarm on the champion (the suspected drift region) get 2 added,
 *       so they come before every input from before the shift (priorities there are in [2, 3], elsewhere in [0, 1]).
 * </ul>
 * priority = (uncertainty + novelty) / 2 (+ 2 in the drift region). {@link #select} picks a batch from ranked candidates round
 * robin over the predicted classes, so one confusing class does not take the whole budget. Immutable parts; a {@link Reference}
 * is not thread-safe while it fills.
 */
public final class LabelPriority {
  private LabelPriority() {}

  /** The score of one served input, with its parts. */
  public record Score(double priority, double uncertainty, double novelty, boolean driftRegion) {}

  /** 1 − (p₁ − p₂) over a probability vector (1 − p₁ with a single class). */
  public static double uncertainty(float[] probabilities) {
    if (probabilities.length == 0) {
      throw new IllegalArgumentException("no probabilities");
    }
    double first = Double.NEGATIVE_INFINITY;
    double second = 0;
    for (float p : probabilities) {
      if (p > first) {
        second = Math.max(second, first);
        first = p;
      } else if (p > second) {
        second = p;
      }
    }
    return clamp(1 - (first - second));
  }

  /** The score of an input from its probabilities, its novelty ({@link Reference#novelty}) and whether it is in the drift region. */
  public static Score score(float[] probabilities, double novelty, boolean driftRegion) {
    double u = uncertainty(probabilities);
    double n = Double.isNaN(novelty) ? 0.5 : clamp(novelty);
    return new Score((u + n) / 2 + (driftRegion ? 2 : 0), u, n, driftRegion);
  }

  /**
   * Up to {@code n} of the candidates, best first within each predicted class, taken round robin over the classes in the order
   * of their best candidate.
   *
   * @param predicted each candidate's predicted class
   * @param priority each candidate's priority
   * @return indices into the candidates, in the order taken
   */
  public static int[] select(int[] predicted, double[] priority, int n) {
    if (predicted.length != priority.length) {
      throw new IllegalArgumentException("one predicted class per priority: " + predicted.length + " and " + priority.length);
    }
    Integer[] order = new Integer[priority.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, Comparator.comparingDouble((Integer i) -> -priority[i]).thenComparingInt(i -> i));
    Map<Integer, List<Integer>> byClass = new LinkedHashMap<>();
    for (int i : order) {
      byClass.computeIfAbsent(predicted[i], k -> new ArrayList<>()).add(i);
    }
    List<List<Integer>> queues = new ArrayList<>(byClass.values());
    int[] taken = new int[Math.min(n, priority.length)];
    int count = 0;
    for (int round = 0; count < taken.length; round++) {
      for (List<Integer> q : queues) {
        if (round < q.size() && count < taken.length) {
          taken[count++] = q.get(round);
        }
      }
    }
    return taken;
  }

  /**
   * Embeddings of the inputs a champion answered first, kept as a uniform sample (reservoir) of at most {@code capacity}, and
   * the distance scale of {@link LabelPriority}'s novelty. Novelty is NaN until {@code minimum} embeddings are in.
   */
  public static final class Reference {
    private final int capacity;
    private final int minimum;
    private final List<float[]> kept = new ArrayList<>();
    private final Random random;
    private long seen;
    private double scale = Double.NaN;

    public Reference(int capacity, int minimum, long seed) {
      if (minimum < 2 || capacity < minimum) {
        throw new IllegalArgumentException("need 2 <= minimum <= capacity, was " + minimum + " and " + capacity);
      }
      this.capacity = capacity;
      this.minimum = minimum;
      this.random = new Random(seed);
    }

    /** Adds an embedding to the reference (reservoir sampling once full); the scale is recomputed when it first fills. */
    public void add(float[] embedding) {
      seen++;
      if (kept.size() < capacity) {
        kept.add(embedding.clone());
      } else {
        long j = (long) (random.nextDouble() * seen);
        if (j < capacity) {
          kept.set((int) j, embedding.clone());
        }
      }
      if (Double.isNaN(scale) ? kept.size() >= minimum : kept.size() == capacity && seen == capacity) {
        scale = medianNearest();
      }
    }

    /** True once the reference holds {@code minimum} embeddings. */
    public boolean ready() {
      return !Double.isNaN(scale);
    }

    public int size() {
      return kept.size();
    }

    /** d / (d + s) for the input's distance d to the nearest reference embedding; NaN before {@link #ready()}. */
    public double novelty(float[] embedding) {
      if (!ready()) {
        return Double.NaN;
      }
      double d = Math.sqrt(nearest(embedding, -1));
      return scale > 0 ? d / (d + scale) : d > 0 ? 1 : 0.5;
    }

    private double medianNearest() {
      double[] ds = new double[kept.size()];
      for (int i = 0; i < ds.length; i++) {
        ds[i] = Math.sqrt(nearest(kept.get(i), i));
      }
      Arrays.sort(ds);
      return ds[ds.length / 2];
    }

    /** The smallest squared distance to a kept embedding other than {@code skip}. */
    private double nearest(float[] e, int skip) {
      double best = Double.POSITIVE_INFINITY;
      for (int i = 0; i < kept.size(); i++) {
        if (i == skip) {
          continue;
        }
        float[] k = kept.get(i);
        if (k.length != e.length) {
          throw new IllegalArgumentException("embedding of " + e.length + " values, the reference holds " + k.length);
        }
        double s = 0;
        for (int j = 0; j < e.length && s < best; j++) {
          double d = e[j] - k[j];
          s += d * d;
        }
        best = Math.min(best, s);
      }
      return best;
    }
  }

  private static double clamp(double v) {
    return Math.max(0, Math.min(1, v));
  }
}
