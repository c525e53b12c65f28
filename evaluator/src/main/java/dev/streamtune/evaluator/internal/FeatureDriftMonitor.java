package dev.streamtune.evaluator.internal;

import dev.streamtune.core.learn.ClassConditionalKs;
import dev.streamtune.evaluator.FeatureDrift;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Iterator;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;

/**
 * Pure label-free drift check on feature vectors (see {@link FeatureDrift}): random projections of each vector, a reference
 * sample and a sliding recent window, and per direction a Kolmogorov–Smirnov test <em>within the predicted class</em> (core's
 * {@link ClassConditionalKs}: each recent projection ranked among the reference projections of its own class) at the Bonferroni
 * level. A network's features differ most between classes, so a plain test fired on runs of one class and on a change of mix
 * (75 false alarms per 100,000 served inputs in class runs, {@code bench drift}); within classes, only a change of the images
 * themselves moves the ranks. One instance follows one model version; {@link #reset(int)} starts over for a new one. After
 * an alarm the next inputs form a fresh reference, so a lasting shift alarms once. Not thread-safe: one owner thread.
 */
public final class FeatureDriftMonitor {
  /** A rejection: the largest D over the directions, its critical value, the oldest time in the recent window. */
  public record Alarm(double statistic, double threshold, int direction, long seen, Instant onset) {}

  /** Reference inputs a class needs before its recent inputs are tested. */
  static final int MIN_PER_CLASS = 5;

  private final FeatureDrift params;
  private final int dims;
  private final double[][] directions;
  private double[][] reference;
  private int[] referenceClasses;
  private int referenceCount;
  private final ArrayDeque<double[]> recent = new ArrayDeque<>();
  private final ArrayDeque<Integer> recentClasses = new ArrayDeque<>();
  private final ArrayDeque<Instant> recentTimes = new ArrayDeque<>();
  private long seen;
  private int sinceCheck;
  private int version = -1;
  private double[] lastTest;

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
    startReference();
    seen = 0;
  }

  private void startReference() {
    reference = new double[params.projections()][params.reference()];
    referenceClasses = new int[params.reference()];
    referenceCount = 0;
    recent.clear();
    recentClasses.clear();
    recentTimes.clear();
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
   * The test the last {@link #add} completed: {@code {D of the most shifted direction, critical D, its p-value, recent
   * inputs tested}}; null when that addition ran no test.
   */
  public double[] lastTest() {
    return lastTest;
  }

  /**
   * Adds one feature vector and the class the model predicted for it; returns an alarm when this addition completed a test
   * that rejected.
   *
   * @param predictedClass the model's answer for the input (its output index, {@code >= 0})
   * @throws IllegalArgumentException when the vector's length is not {@code dims}, or the class is negative
   */
  public Optional<Alarm> add(float[] features, int predictedClass, Instant time) {
    lastTest = null;
    if (features.length != dims) {
      throw new IllegalArgumentException("expected " + dims + " features, got " + features.length);
    }
    if (predictedClass < 0) {
      throw new IllegalArgumentException("a predicted class is an output index, not " + predictedClass);
    }
    seen++;
    double[] p = project(features);
    if (referenceCount < params.reference()) {
      for (int j = 0; j < p.length; j++) {
        reference[j][referenceCount] = p[j];
      }
      referenceClasses[referenceCount] = predictedClass;
      referenceCount++;
      return Optional.empty();
    }
    recent.addLast(p);
    recentClasses.addLast(predictedClass);
    recentTimes.addLast(time);
    if (recent.size() > params.recent()) {
      recent.removeFirst();
      recentClasses.removeFirst();
      recentTimes.removeFirst();
    }
    sinceCheck++;
    if (recent.size() < params.recent() || sinceCheck < params.every()) {
      return Optional.empty();
    }
    sinceCheck = 0;
    int m = recent.size();
    int[] classes = new int[m];
    long[] sequence = new long[m];
    Iterator<Integer> ci = recentClasses.iterator();
    for (int i = 0; i < m; i++) {
      classes[i] = ci.next();
      sequence[i] = seen - m + 1 + i; // each input's place in the stream: its tie-breaking draw
    }
    ClassConditionalKs.Result best = null;
    int bestDirection = -1;
    for (int j = 0; j < directions.length; j++) {
      double[] window = new double[m];
      int i = 0;
      for (double[] v : recent) {
        window[i++] = v[j];
      }
      ClassConditionalKs.Result r = ClassConditionalKs.test(reference[j], referenceClasses, window, classes, sequence,
          params.alphaPerDirection(), MIN_PER_CLASS, Math.max(10, params.recent() / 2));
      if (r != null && (best == null || r.pValue() < best.pValue())) {
        best = r;
        bestDirection = j;
      }
    }
    if (best == null) { // too few recent inputs of classes the reference knows
      return Optional.empty();
    }
    lastTest = new double[] {best.d(), best.critical(), best.pValue(), best.judged()};
    if (!(best.pValue() < params.alphaPerDirection())) {
      return Optional.empty();
    }
    Alarm alarm = new Alarm(best.d(), best.critical(), bestDirection, seen, recentTimes.peekFirst());
    // the shifted inputs are the new normal: a fresh reference from the next inputs, so a lasting shift alarms once and a
    // further shift alarms again
    startReference();
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
        + params.reference() + ", recent=" + recent.size() + ", directions=" + directions.length + "]";
  }
}
