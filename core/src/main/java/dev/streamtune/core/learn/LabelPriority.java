package dev.streamtune.core.learn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
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
 * priority = (uncertainty + novelty) / 2 (+ 2 in the drift region): the order the queue shows. {@link #selectBatch} picks what a
 * round asks for: the drift region first, a uniform sample of it, then uncertain and diverse inputs. Immutable parts; a
 * {@link Reference} is not thread-safe while it fills.
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
   * The batch the labelling teams are asked for: up to {@code n} candidates.
   * <ul>
   *   <li><b>In the drift region first</b>, a uniform random sample. After a shift the champion's answers and features say
   *       little about which labels teach most: {@code eval} measured margin uncertainty, BADGE and novelty-weighted picks
   *       each teaching less than random labels of the new domain on at least one abrupt shift at 500 labels
   *       (docs/evaluation.md); a random sample of the shifted traffic is what the new model must learn.
   *   <li><b>Outside it</b> (no drift detected: slow change, rare cases), uncertain and diverse inputs ({@link #badge}).
   * </ul>
   *
   * @param probabilities each candidate's answer over the classes
   * @param embeddings each candidate's embedding (the head's input)
   * @param driftRegion whether each candidate was served after a drift alarm's onset
   * @return indices into the candidates, in the order picked
   */
  public static int[] selectBatch(float[][] probabilities, float[][] embeddings, boolean[] driftRegion, int n, long seed) {
    int m = probabilities.length;
    if (embeddings.length != m || driftRegion.length != m) {
      throw new IllegalArgumentException("one answer, embedding and drift flag per candidate: " + m + ", " + embeddings.length
          + ", " + driftRegion.length);
    }
    Random rnd = new Random(seed);
    List<Integer> inDrift = new ArrayList<>();
    List<Integer> others = new ArrayList<>();
    for (int i = 0; i < m; i++) {
      (driftRegion[i] ? inDrift : others).add(i);
    }
    int want = Math.min(n, m);
    java.util.Collections.shuffle(inDrift, rnd);
    List<Integer> out = new ArrayList<>(inDrift.subList(0, Math.min(want, inDrift.size())));
    out.addAll(badge(probabilities, embeddings, others, want - out.size(), rnd));
    return out.stream().mapToInt(Integer::intValue).toArray();
  }

  /**
   * Up to {@code k} of the {@code pool} candidates, uncertain and diverse (BADGE, Ash et al. 2020): each candidate's gradient
   * embedding (p − onehot(predicted)) ⊗ h — the gradient of the loss on the head's weights if the predicted label were right,
   * long where the model is unsure — picked by k-means++ seeding (the longest first, then each with probability proportional to
   * its squared distance to those picked).
   */
  public static List<Integer> badge(float[][] p, float[][] h, List<Integer> pool, int k, Random rnd) {
    return kMeansPlusPlus(p, h, pool, k, rnd);
  }

  /** The gradient embedding of one answer: (p − onehot(argmax p)) ⊗ h, flattened class-major. */
  static float[] gradientEmbedding(float[] p, float[] h) {
    int top = 0;
    for (int c = 1; c < p.length; c++) {
      if (p[c] > p[top]) {
        top = c;
      }
    }
    float[] g = new float[p.length * h.length];
    for (int c = 0; c < p.length; c++) {
      float d = p[c] - (c == top ? 1 : 0);
      for (int j = 0; j < h.length; j++) {
        g[c * h.length + j] = d * h[j];
      }
    }
    return g;
  }

  private static List<Integer> kMeansPlusPlus(float[][] p, float[][] h, List<Integer> pool, int k, Random rnd) {
    List<Integer> picked = new ArrayList<>();
    if (k <= 0 || pool.isEmpty()) {
      return picked;
    }
    float[][] g = new float[pool.size()][];
    double[] nearest = new double[pool.size()];
    int first = 0;
    for (int i = 0; i < g.length; i++) {
      g[i] = gradientEmbedding(p[pool.get(i)], h[pool.get(i)]);
      nearest[i] = squaredNorm(g[i]);
      if (nearest[i] > nearest[first]) {
        first = i;
      }
    }
    boolean[] taken = new boolean[g.length];
    int next = first;
    while (true) {
      taken[next] = true;
      picked.add(pool.get(next));
      if (picked.size() == k) {
        return picked;
      }
      double total = 0;
      for (int i = 0; i < g.length; i++) {
        if (!taken[i]) {
          nearest[i] = Math.min(nearest[i], squaredDistance(g[i], g[next]));
          total += nearest[i];
        }
      }
      next = -1;
      if (total > 0) {
        double r = rnd.nextDouble() * total;
        for (int i = 0; i < g.length && next < 0; i++) {
          if (!taken[i]) {
            r -= nearest[i];
            if (r <= 0) {
              next = i;
            }
          }
        }
      }
      if (next < 0) { // every distance 0 (identical answers) or rounding at the end: the first one not taken
        for (int i = 0; i < g.length && next < 0; i++) {
          if (!taken[i]) {
            next = i;
          }
        }
      }
    }
  }

  private static double squaredNorm(float[] a) {
    double s = 0;
    for (float v : a) {
      s += v * v;
    }
    return s;
  }

  /** The squared Euclidean distance between two embeddings of one width. */
  static double squaredDistance(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      double d = a[i] - b[i];
      s += d * d;
    }
    return s;
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
    private double typical = Double.NaN;

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

    /** The median nearest-neighbour distance within the reference; sets {@link #typical()} on the way. */
    private double medianNearest() {
      double[] ds = new double[kept.size()];
      for (int i = 0; i < ds.length; i++) {
        ds[i] = Math.sqrt(nearest(kept.get(i), i));
      }
      Arrays.sort(ds);
      double median = ds[ds.length / 2];
      double d90 = ds[Math.min(ds.length - 1, (int) Math.ceil(0.9 * ds.length) - 1)];
      typical = median > 0 ? d90 / (d90 + median) : 0.5;
      return median;
    }

    /**
     * The novelty that 90 % of the reference's own members stay under (each against the others): above it an input is unlike
     * what the champion knew. NaN before {@link #ready()}.
     */
    public double typical() {
      return typical;
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
