package dev.streamtune.serving;

/**
 * Counters of one serving node since it started, read together: what a benchmark or a test compares before and after a phase.
 * The same figures are on {@code /metrics}.
 *
 * @param batches {@code output()} calls of the inference worker
 * @param batchedRequests images answered by those calls (their mean batch size is {@code batchedRequests / batches})
 * @param modelLoads versions read from the store, verified and warmed up (to serve or to keep for pinned requests); a swap back
 *     to a version still loaded is not one
 * @param modelLoadSeconds the time those loads took, together
 * @param swaps versions swapped in to serve, loaded or served again from memory
 * @param failedSwaps promoted versions refused (did not load, verify or run)
 * @param eventsFailed prediction and input events (and shadow score windows) that could not be sent
 * @param superseded promotions never loaded because a newer one arrived within the minimum swap interval
 * @param swapJitterCount swap windows measured (back-to-back swaps share one): p99 during the swap over the steady p99 before
 * @param swapJitterSum the sum of those ratios
 */
public record ServingStats(long batches, long batchedRequests, long modelLoads, double modelLoadSeconds, long swaps, long failedSwaps,
    long eventsFailed, long superseded, long swapJitterCount, double swapJitterSum) {
  /** The mean batch size, 0 before the first batch. */
  public double meanBatch() {
    return batches == 0 ? 0 : batchedRequests / (double) batches;
  }

  /** The mean time of a load in milliseconds, 0 before the first. */
  public double meanLoadMs() {
    return modelLoads == 0 ? 0 : 1000 * modelLoadSeconds / modelLoads;
  }

  /** The mean ratio of the p99 during a swap to the steady p99 before it, NaN before the first measured swap. */
  public double meanSwapJitter() {
    return swapJitterCount == 0 ? Double.NaN : swapJitterSum / swapJitterCount;
  }

  /** The counts of this minus {@code earlier}: what happened in between. */
  public ServingStats minus(ServingStats earlier) {
    return new ServingStats(batches - earlier.batches, batchedRequests - earlier.batchedRequests, modelLoads - earlier.modelLoads,
        modelLoadSeconds - earlier.modelLoadSeconds, swaps - earlier.swaps, failedSwaps - earlier.failedSwaps,
        eventsFailed - earlier.eventsFailed, superseded - earlier.superseded, swapJitterCount - earlier.swapJitterCount,
        swapJitterSum - earlier.swapJitterSum);
  }
}
