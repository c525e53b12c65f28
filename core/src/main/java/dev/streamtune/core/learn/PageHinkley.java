package dev.streamtune.core.learn;

/**
 * The Page-Hinkley test for an increase of the mean of a stream (here the 0/1 error stream of a model version). Pure: the state
 * is an immutable value, so it can live in a Kafka Streams store.
 *
 * @param delta the magnitude of change tolerated (per sample)
 * @param lambda the alarm threshold on the cumulative statistic
 * @param minSamples no alarm before this many samples
 */
public record PageHinkley(double delta, double lambda, int minSamples) {
  public static final String NAME = "page-hinkley";

  public PageHinkley {
    if (!(delta >= 0) || !(lambda > 0) || minSamples < 1) {
      throw new IllegalArgumentException("page-hinkley needs delta >= 0, lambda > 0, minSamples >= 1; was " + delta + ", " + lambda
          + ", " + minSamples);
    }
  }

  /**
   * Detector state.
   *
   * @param n samples seen
   * @param mean running mean
   * @param sum cumulative deviation m_t
   * @param min minimum of m_t so far
   * @param nAtMin the sample count at the minimum: the estimated onset
   */
  public record State(long n, double mean, double sum, double min, long nAtMin) {
    public static State initial() {
      return new State(0, 0, 0, 0, 0);
    }

    /** The statistic m_t - M_t. */
    public double statistic() {
      return sum - min;
    }
  }

  /** The state after one more value, and whether the test fires. */
  public record Step(State state, boolean drift) {}

  public Step update(State s, double x) {
    long n = s.n() + 1;
    double mean = s.mean() + (x - s.mean()) / n;
    double sum = s.sum() + (x - mean - delta);
    double min = s.min();
    long nAtMin = s.nAtMin();
    if (sum < min) {
      min = sum;
      nAtMin = n;
    }
    State next = new State(n, mean, sum, min, nAtMin);
    return new Step(next, n >= minSamples && next.statistic() > lambda);
  }
}
