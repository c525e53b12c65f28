package dev.streamtune.serving.internal;

import java.time.Duration;
import java.util.Optional;

/**
 * The p99 latency of the requests answered during each model swap against the p99 of the steady traffic before it: what a swap
 * costs the clients, as one number per swap that can be alerted on (a swap-jitter budget).
 *
 * <p>A swap window opens when a swap starts (the load of a promoted version begins) and closes {@link #SETTLE} after the new
 * version serves (or the load failed), so the first batches on the new version count too, or after {@link #MAX_WINDOW}. Requests answered in a window count
 * for that swap only; the others go to per-second slots of the last {@link #STEADY_SECONDS} seconds, merged into the steady p99
 * when a swap starts. Latencies are counted in log-spaced buckets (10 % apart, from 50 µs), so a p99 is the upper bound of its
 * bucket: within 10 %. Thread-safe; {@link #record} is a few array writes under a lock.
 */
final class SwapJitter {
  /** How long after a swap its window stays open. */
  static final Duration SETTLE = Duration.ofSeconds(1);
  /** Seconds of steady traffic before a swap that its p99 is compared with: short, so that it is the load of the moment. */
  static final int STEADY_SECONDS = 10;
  /**
   * The longest window: swaps that follow each other within {@link #SETTLE} share a window, and a node swapping without pause
   * still reports every {@code MAX_WINDOW}; the next window is then compared with the same steady traffic as the one before.
   */
  static final Duration MAX_WINDOW = Duration.ofSeconds(10);
  /** The fewest requests in a window, and before it, for a comparison. */
  static final int MIN_REQUESTS = 20;

  private static final double FIRST_NANOS = 50_000;
  private static final double GROWTH = 1.1;
  private static final int BUCKETS = 180;

  /** One swap's outcome: the p99s in seconds and the requests they are drawn from. */
  record Result(int version, double swapP99Seconds, long swapRequests, double steadyP99Seconds, long steadyRequests) {
    /** The swap's p99 over the steady p99. */
    double ratio() {
      return swapP99Seconds / steadyP99Seconds;
    }
  }

  private final java.util.ArrayDeque<Result> done = new java.util.ArrayDeque<>();
  private final long[][] steady = new long[STEADY_SECONDS][BUCKETS];
  private final long[] slotSecond = new long[STEADY_SECONDS];
  private final long[] window = new long[BUCKETS];
  private long[] steadyAtStart;
  private boolean open;
  private long openedAtNanos;
  private long closesAtNanos = Long.MAX_VALUE;
  private int version;

  /** Counts one answered request's latency. */
  synchronized void record(long latencyNanos, long nowNanos) {
    int b = bucket(latencyNanos);
    if (open && nowNanos < closesAtNanos && nowNanos - openedAtNanos < MAX_WINDOW.toNanos()) {
      window[b]++;
      return;
    }
    long second = Math.floorDiv(nowNanos, 1_000_000_000L);
    int slot = (int) Math.floorMod(second, STEADY_SECONDS);
    if (slotSecond[slot] != second) {
      java.util.Arrays.fill(steady[slot], 0);
      slotSecond[slot] = second;
    }
    steady[slot][b]++;
  }

  /** A swap starts: its window opens, and the steady traffic of the last {@link #STEADY_SECONDS} is what it is compared with. */
  synchronized void started(long nowNanos) {
    if (open && nowNanos < closesAtNanos && nowNanos - openedAtNanos < MAX_WINDOW.toNanos()) {
      return; // a swap within the window of the one before: one window for both
    }
    long[] before = steadyAtStart;
    finish();
    long second = Math.floorDiv(nowNanos, 1_000_000_000L);
    long[] merged = new long[BUCKETS];
    for (int s = 0; s < STEADY_SECONDS; s++) {
      if (second - slotSecond[s] < STEADY_SECONDS) {
        for (int b = 0; b < BUCKETS; b++) {
          merged[b] += steady[s][b];
        }
      }
    }
    // right after a window that ended at its longest there is no steady traffic yet: compare with what the last one did
    steadyAtStart = sum(merged) < MIN_REQUESTS && before != null ? before : merged;
    java.util.Arrays.fill(window, 0);
    open = true;
    openedAtNanos = nowNanos;
    closesAtNanos = Long.MAX_VALUE;
  }

  /** The swap to {@code version} ended (served, or refused): its window closes {@link #SETTLE} from now. */
  synchronized void ended(int version, long nowNanos) {
    if (open) {
      this.version = version;
      closesAtNanos = nowNanos + SETTLE.toNanos();
    }
  }

  /**
   * Closes the window once it is due: the swap's result when both it and the steady traffic before it held at least
   * {@link #MIN_REQUESTS} requests, else empty (too little traffic to say).
   */
  synchronized Optional<Result> close(long nowNanos) {
    if (open && (nowNanos >= closesAtNanos || nowNanos - openedAtNanos >= MAX_WINDOW.toNanos())) {
      finish();
    }
    return Optional.ofNullable(done.poll());
  }

  /** Ends the open window, if any, keeping its result for {@link #close} when it held enough requests. */
  private void finish() {
    if (!open) {
      return;
    }
    open = false;
    closesAtNanos = Long.MAX_VALUE;
    long swapCount = sum(window);
    long steadyCount = sum(steadyAtStart);
    if (swapCount >= MIN_REQUESTS && steadyCount >= MIN_REQUESTS) {
      done.add(new Result(version, p99(window, swapCount), swapCount, p99(steadyAtStart, steadyCount), steadyCount));
    }
  }

  private static long sum(long[] h) {
    long n = 0;
    for (long c : h) {
      n += c;
    }
    return n;
  }

  /** The upper bound, in seconds, of the bucket that holds the 99th percentile. */
  private static double p99(long[] h, long count) {
    long rank = (long) Math.ceil(0.99 * count);
    long seen = 0;
    for (int b = 0; b < BUCKETS; b++) {
      seen += h[b];
      if (seen >= rank) {
        return FIRST_NANOS * Math.pow(GROWTH, b) / 1e9;
      }
    }
    return FIRST_NANOS * Math.pow(GROWTH, BUCKETS - 1) / 1e9;
  }

  /** The first bucket whose upper bound holds {@code nanos}. */
  static int bucket(long nanos) {
    if (nanos <= FIRST_NANOS) {
      return 0;
    }
    int b = (int) Math.ceil(Math.log(nanos / FIRST_NANOS) / Math.log(GROWTH));
    return Math.min(BUCKETS - 1, b);
  }
}
