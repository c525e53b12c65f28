package dev.streamtune.evaluator.internal;

import dev.streamtune.core.learn.KolmogorovSmirnov;
import dev.streamtune.evaluator.FeatureDrift;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;

/**
 * Pure label-free drift check on feature vectors (see {@link FeatureDrift}): random projections of each vector, a reference
 * sample and a sliding recent window per direction, a Kolmogorov–Smirnov test per direction at the Bonferroni level. One
 * instance follows one model version; {@link #reset(int)} starts over for a new one. After an alarm the next inputs form a
 * fresh reference, so a lasting shift alarms once. Not thread-safe: one owner thread.
 */
public final class FeatureDriftMonitor {
  /** A rejection: the largest D over the directions, its critical value, the oldest time in the recent window. */
  public record Alarm(double statistic, double threshold, int direction, long seen, Instant onset) {}

  private final FeatureDrift params;
  private final int dims;
  private final double[][] directions;
  private double[][] reference;
  private int referenceCount;
  private final ArrayDeque<double[]> recent = new ArrayDeque<>();
  private final ArrayDeque<Instant> recentTimes = new ArrayDeque<>();
  private long seen;
  private int sinceCheck;
  private int version = -1;

  /**
   * @param dims the feature vectors' length
   * @param seed fixes the random directions, so a restarted evaluator tests the same ones
   */
  public FeatureDriftMonitor(FeatureDrift params, int dims, long seed) {
    this.params = Objects.requireNonNull(params, "params");
    if (dims < 1) {
      throw new IllegalArgumentException("dims must be positive: " + dims);
    }
    this.dims = dims;
    Random r = new Random(seed);
    directions = new double[params.projections()][dims];
    for (double[] d : directions) {
      double norm = 0;
      for (int i = 0; i < dims; i++) {
        d[i] = r.nextGaussian();
        norm += d[i] * d[i];
      }
      norm = Math.sqrt(norm);
      for (int i = 0; i < dims; i++) {
        d[i] /= norm;
      }
    }
    reset(-1);
  }

  /** Forgets everything: the next {@code reference} vectors form the reference of {@code newVersion}. */
  public void reset(int newVersion) {
    version = newVersion;
    reference = new double[params.projections()][params.reference()];
    referenceCount = 0;
    recent.clear();
    recentTimes.clear();
    seen = 0;
    sinceCheck = 0;
  }

  /** The model version the monitor follows (-1 before the first {@link #reset(int)}). */
  public int version() {
    return version;
  }

  /** Sampled inputs seen since the last reset. */
  public long seen() {
    return seen;
  }

  /**
   * Adds one feature vector; returns an alarm when this addition completed a test that rejected.
   *
   * @throws IllegalArgumentException when the vector's length is not {@code dims}
   */
  public Optional<Alarm> add(float[] features, Instant time) {
    if (features.length != dims) {
      throw new IllegalArgumentException("expected " + dims + " features, got " + features.length);
    }
    seen++;
    double[] p = project(features);
    if (referenceCount < params.reference()) {
      for (int j = 0; j < p.length; j++) {
        reference[j][referenceCount] = p[j];
      }
      referenceCount++;
      return Optional.empty();
    }
    recent.addLast(p);
    recentTimes.addLast(time);
    if (recent.size() > params.recent()) {
      recent.removeFirst();
      recentTimes.removeFirst();
    }
    sinceCheck++;
    if (recent.size() < params.recent() || sinceCheck < params.every()) {
      return Optional.empty();
    }
    sinceCheck = 0;
    double bestD = -1;
    int best = -1;
    double bestP = 1;
    for (int j = 0; j < directions.length; j++) {
      double[] window = new double[recent.size()];
      int i = 0;
      for (double[] v : recent) {
        window[i++] = v[j];
      }
      KolmogorovSmirnov.Result r = KolmogorovSmirnov.test(reference[j], window);
      if (r.d() > bestD) {
        bestD = r.d();
        best = j;
        bestP = r.pValue();
      }
    }
    if (!(bestP < params.alphaPerDirection())) {
      return Optional.empty();
    }
    double critical = KolmogorovSmirnov.criticalD(params.reference(), params.recent(), params.alphaPerDirection());
    Alarm alarm = new Alarm(bestD, critical, best, seen, recentTimes.peekFirst());
    // the shifted inputs are the new normal: a fresh reference from the next inputs, so a lasting shift alarms once and a
    // further shift alarms again
    referenceCount = 0;
    recent.clear();
    recentTimes.clear();
    sinceCheck = 0;
    return Optional.of(alarm);
  }

  private double[] project(float[] f) {
    double[] out = new double[directions.length];
    for (int j = 0; j < directions.length; j++) {
      double s = 0;
      double[] d = directions[j];
      for (int i = 0; i < dims; i++) {
        s += d[i] * f[i];
      }
      out[j] = s;
    }
    return out;
  }

  @Override
  public String toString() {
    return "FeatureDriftMonitor[version=" + version + ", seen=" + seen + ", reference=" + referenceCount + "/"
        + params.reference() + ", recent=" + recent.size() + ", directions=" + Arrays.stream(directions).count() + "]";
  }
}
