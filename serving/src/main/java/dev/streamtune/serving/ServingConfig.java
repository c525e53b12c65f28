package dev.streamtune.serving;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import java.time.Duration;
import java.util.Objects;

/**
 * The validated configuration of the serving service: the settings every service shares plus the {@code streamtune.serving.*}
 * keys below. Built once by {@link #from(Settings)}; a bad value stops start-up with a {@link ConfigException} naming the key and
 * the value. Immutable and thread-safe.
 *
 * @param common shared settings (bootstrap, topics, model name, store directory)
 * @param host the address HTTP listens on ({@value #HOST}, default {@code 0.0.0.0}: every interface)
 * @param port the HTTP port ({@value #PORT}, default 8081; 0 picks a free port)
 * @param grpcPort the port of the Open Inference Protocol over gRPC ({@value #GRPC_PORT}, default 8085; 0 picks a free port,
 *     {@value #GRPC_OFF} turns gRPC off)
 * @param batchMax the most requests answered by one {@code output()} call ({@value #BATCH_MAX}, default 32)
 * @param batchWait how long a batch waits for more requests after its first ({@value #BATCH_WAIT}, default 2ms)
 * @param queueMax the most requests waiting for inference; beyond it a request is refused with 429 at once
 *     ({@value #QUEUE_MAX}, default 1024)
 * @param topK how many labels an answer carries unless the request asks otherwise ({@value #TOPK}, default 3)
 * @param bodyMaxBytes the largest accepted request body ({@value #BODY_MAX_BYTES}, default 1 MiB)
 * @param httpThreads threads serving HTTP requests ({@value #HTTP_THREADS}, default 32)
 * @param versionsKeep how many previously served versions stay loaded beside the serving one, so a request may pin them
 *     ({@value #VERSIONS_KEEP}, default 2; 0 keeps only the serving version)
 * @param swapMinInterval the shortest time between two model swaps ({@value #SWAP_MIN_INTERVAL}, default 1s; 0 swaps on every
 *     promotion): promotions that arrive faster wait, and only the newest is loaded, so a burst of promotions costs the request
 *     path one load
 * @param shadow shadow scoring of the newest candidate of the serving version ({@code streamtune.serving.shadow.*})
 * @param workers inference threads, each with its own copy of the served models ({@value #WORKERS}, default {@code auto}: one
 *     per core when OpenMP runs one thread per caller ({@code OMP_NUM_THREADS=1}, as {@code bin/streamtune} and the compose file
 *     set for serving), else one, whose ops use OpenMP's threads)
 */
public record ServingConfig(CommonConfig common, String host, int port, int grpcPort, int batchMax, Duration batchWait, int queueMax, int topK,
    int bodyMaxBytes, int httpThreads, int versionsKeep, Duration swapMinInterval, Shadow shadow, int workers) {
  public static final String HOST = "streamtune.serving.host";
  public static final String PORT = "streamtune.serving.port";
  public static final String GRPC_PORT = "streamtune.serving.grpc-port";
  public static final String BATCH_MAX = "streamtune.serving.batch.max";
  public static final String BATCH_WAIT = "streamtune.serving.batch.wait";
  public static final String QUEUE_MAX = "streamtune.serving.queue.max";
  public static final String TOPK = "streamtune.serving.topk";
  public static final String BODY_MAX_BYTES = "streamtune.serving.body.max-bytes";
  public static final String HTTP_THREADS = "streamtune.serving.http.threads";
  public static final String VERSIONS_KEEP = "streamtune.serving.versions.keep";
  public static final String SWAP_MIN_INTERVAL = "streamtune.serving.swap.min-interval";
  public static final String WORKERS = "streamtune.serving.workers";
  /** The longest {@link #SWAP_MIN_INTERVAL}. */
  public static final Duration MAX_SWAP_MIN_INTERVAL = Duration.ofHours(1);
  public static final String SHADOW_SHARE = "streamtune.serving.shadow.share";
  public static final String SHADOW_QUEUE_MAX = "streamtune.serving.shadow.queue.max";
  public static final String SHADOW_SUMMARY_INPUTS = "streamtune.serving.shadow.summary.inputs";
  public static final String SHADOW_SUMMARY_INTERVAL = "streamtune.serving.shadow.summary.interval";

  /** The shortest and longest {@link #SHADOW_SUMMARY_INTERVAL}. */
  public static final Duration MIN_SHADOW_INTERVAL = Duration.ofMillis(100);
  public static final Duration MAX_SHADOW_INTERVAL = Duration.ofHours(1);

  /**
   * Shadow scoring: the newest candidate on {@code candidates} whose parent is the serving version runs beside it, off the
   * request path, on a share of the images the serving version answered; the answers still come from the serving version.
   *
   * @param share the share of answered images scored by the shadow too ({@value #SHADOW_SHARE}, default 0.1; 0 turns shadow
   *     scoring off: {@code candidates} is not even read)
   * @param queueMax batches waiting for the shadow thread; a batch beyond it is dropped and counted, never waited for
   *     ({@value #SHADOW_QUEUE_MAX}, default 16)
   * @param summaryInputs a {@code ShadowScore} is published after this many scored images ({@value #SHADOW_SUMMARY_INPUTS},
   *     default 500)
   * @param summaryInterval or after this long, when at least one image was scored ({@value #SHADOW_SUMMARY_INTERVAL}, default
   *     10s)
   */
  public record Shadow(double share, int queueMax, int summaryInputs, Duration summaryInterval) {
    public Shadow {
      Objects.requireNonNull(summaryInterval, "summaryInterval");
      check(share >= 0 && share <= 1, "shadow share", share);
      check(queueMax >= 1, "shadow queueMax", queueMax);
      check(summaryInputs >= 1, "shadow summaryInputs", summaryInputs);
      check(summaryInterval.compareTo(MIN_SHADOW_INTERVAL) >= 0 && summaryInterval.compareTo(MAX_SHADOW_INTERVAL) <= 0,
          "shadow summaryInterval", summaryInterval);
    }

    /** True unless {@link #share} is 0. */
    public boolean enabled() {
      return share > 0;
    }

    /** Reads and validates the {@code streamtune.serving.shadow.*} keys. */
    static Shadow from(Settings s) {
      double share = s.decimal(SHADOW_SHARE, 0.1, 0.0, 1.0);
      int queue = s.integer(SHADOW_QUEUE_MAX, 16, 1, 4096);
      int inputs = s.integer(SHADOW_SUMMARY_INPUTS, 500, 1, 1_000_000);
      Duration interval = s.duration(SHADOW_SUMMARY_INTERVAL, Duration.ofSeconds(10));
      if (interval.compareTo(MIN_SHADOW_INTERVAL) < 0 || interval.compareTo(MAX_SHADOW_INTERVAL) > 0) {
        throw new ConfigException(SHADOW_SUMMARY_INTERVAL, s.string(SHADOW_SUMMARY_INTERVAL, null), "must be between "
            + MIN_SHADOW_INTERVAL.toMillis() + "ms and " + MAX_SHADOW_INTERVAL.toHours() + "h");
      }
      return new Shadow(share, queue, inputs, interval);
    }
  }

  /** The {@link #GRPC_PORT} that turns gRPC off. */
  public static final int GRPC_OFF = -1;

  /** The longest batch wait accepted: a batch that waits longer only adds latency. */
  public static final Duration MAX_BATCH_WAIT = Duration.ofSeconds(1);

  /** True unless {@link #grpcPort} turns gRPC off. */
  public boolean grpcEnabled() {
    return grpcPort != GRPC_OFF;
  }

  /** Checks the fields; {@link #from(Settings)} reports the same problems with the key that holds them. */
  public ServingConfig {
    Objects.requireNonNull(common, "common");
    Objects.requireNonNull(batchWait, "batchWait");
    if (host == null || host.isBlank()) {
      throw new IllegalArgumentException("host must not be blank");
    }
    check(port >= 0 && port <= 65535, "port", port);
    check(grpcPort >= GRPC_OFF && grpcPort <= 65535, "grpcPort", grpcPort);
    check(grpcPort <= 0 || grpcPort != port, "grpcPort (the HTTP port too)", grpcPort);
    check(batchMax >= 1, "batchMax", batchMax);
    check(!batchWait.isNegative() && batchWait.compareTo(MAX_BATCH_WAIT) <= 0, "batchWait", batchWait);
    check(queueMax >= 1, "queueMax", queueMax);
    check(topK >= 1, "topK", topK);
    check(bodyMaxBytes >= 1, "bodyMaxBytes", bodyMaxBytes);
    check(httpThreads >= 1, "httpThreads", httpThreads);
    check(versionsKeep >= 0 && versionsKeep <= 16, "versionsKeep", versionsKeep);
    Objects.requireNonNull(swapMinInterval, "swapMinInterval");
    check(!swapMinInterval.isNegative() && swapMinInterval.compareTo(MAX_SWAP_MIN_INTERVAL) <= 0, "swapMinInterval",
        swapMinInterval);
    Objects.requireNonNull(shadow, "shadow");
  }

  private static void check(boolean ok, String field, Object value) {
    if (!ok) {
      throw new IllegalArgumentException(field + " out of range: " + value);
    }
  }

  /** Reads and validates the serving settings; throws {@link ConfigException} naming the first bad key and its value. */
  public static ServingConfig from(Settings s) {
    CommonConfig common = CommonConfig.from(s);
    String host = s.string(HOST, "0.0.0.0");
    if (!host.matches("[A-Za-z0-9.:_\\-\\[\\]%]+")) {
      throw new ConfigException(HOST, host, "expected a host name or an IP address");
    }
    Duration wait = s.duration(BATCH_WAIT, Duration.ofMillis(2));
    if (wait.compareTo(MAX_BATCH_WAIT) > 0) {
      throw new ConfigException(BATCH_WAIT, s.string(BATCH_WAIT, null), "must be at most " + MAX_BATCH_WAIT.toMillis() + "ms");
    }
    int port = s.integer(PORT, 8081, 0, 65535);
    int grpcPort = s.integer(GRPC_PORT, 8085, GRPC_OFF, 65535);
    if (grpcPort > 0 && grpcPort == port) {
      throw new ConfigException(GRPC_PORT, Integer.toString(grpcPort), "must differ from " + PORT);
    }
    Duration swapMin = s.duration(SWAP_MIN_INTERVAL, Duration.ofSeconds(1));
    if (swapMin.compareTo(MAX_SWAP_MIN_INTERVAL) > 0) {
      throw new ConfigException(SWAP_MIN_INTERVAL, s.string(SWAP_MIN_INTERVAL, null), "must be at most 1h");
    }
    return new ServingConfig(common, host, port, grpcPort,
        s.integer(BATCH_MAX, 32, 1, 4096),
        wait,
        s.integer(QUEUE_MAX, 1024, 1, 1_000_000),
        s.integer(TOPK, 3, 1, 1000),
        (int) s.size(BODY_MAX_BYTES, 1 << 20, 64, 64 << 20),
        s.integer(HTTP_THREADS, 32, 1, 1024),
        s.integer(VERSIONS_KEEP, 2, 0, 16),
        swapMin,
        Shadow.from(s),
        workers(s));
  }

  /** {@value #WORKERS} for this process: its {@code OMP_NUM_THREADS} and cores, as {@link #from} reads it. */
  public static int workers(Settings s) {
    return workers(s, System.getenv("OMP_NUM_THREADS"), Runtime.getRuntime().availableProcessors());
  }

  /**
   * {@value #WORKERS}: a number from 1 to 256, or {@code auto}: one per core when OpenMP is limited to one thread
   * ({@code ompNumThreads} "1"), else one.
   */
  static int workers(Settings s, String ompNumThreads, int cores) {
    String v = s.string(WORKERS, "auto").trim();
    if (v.equalsIgnoreCase("auto")) {
      return "1".equals(ompNumThreads == null ? null : ompNumThreads.trim()) ? Math.max(1, cores) : 1;
    }
    return s.integer(WORKERS, 1, 1, 256);
  }
}
