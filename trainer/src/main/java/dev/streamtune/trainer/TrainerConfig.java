package dev.streamtune.trainer;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The trainer's settings ({@code streamtune.trainer.*}).
 *
 * @param freezeBoundary {@code auto} (the {@link FreezePolicy} decides per retrain), or the pinned last frozen layer
 *     ({@code none} or a layer name below the head)
 * @param minNewSamples labelled non-held-out samples since the drift onset needed before a retrain
 * @param replayRatio replayed earlier samples per new sample in a retrain
 * @param replayMin replayed earlier samples in a retrain at least, when {@code replayRatio} is above 0 ({@link #replayCount})
 * @param replayMax replayed earlier samples in a retrain at most, before augmented copies ({@value #REPLAY_MAX}; 0: no cap)
 * @param cooldown the least time between two retrains of a model
 * @param maxWait how long a drift signal waits for enough samples before a retrain runs on what there is (if at least a quarter)
 * @param maxAttempts candidates per drift signal: after the gate rejects one while the same version serves, the trainer retries
 *     once {@code minNewSamples} more new-domain samples arrived, up to this many candidates in all
 * @param lowerRateFactor the learning rate of each unfrozen conv block relative to the block above it (conv2 at this times the
 *     head's rate, conv1 at its square)
 * @param freezeSmallData fewer new-domain samples than this is "little data" for the freeze policy
 * @param freezeLargeData at least this many new-domain samples is "much data"
 * @param freezeSimilarRetained the champion keeping at least this share of its accuracy on the new domain means "similar domain"
 * @param freezeFarRetained keeping less than this share means "far domain"
 * @param cacheDir where the frozen-activation cache spills to disk
 * @param cacheMaxBytes the in-memory bound of the frozen-activation cache
 * @param cacheDiskMaxBytes the bound of the frozen-activation cache's files on disk ({@value #CACHE_DISK_MAX}); the least
 *     recently used files are deleted beyond it
 * @param distill distillation toward the parent on replayed samples ({@value #DISTILL}): a replayed sample's target is its label
 *     mixed with the champion's answer at this weight (0: plain labels; {@link Targets#distilled})
 * @param augment augmented copies of the new-domain samples of each fine-tune ({@value Augmentation#KEY}, default none)
 * @param pseudo pseudo-labels for served inputs without a label ({@value PseudoLabels#KEY}: their most share of the training
 *     set, default 0: off; {@value PseudoLabels#PRECISION_KEY})
 * @param pseudoPool the latest served inputs the trainer holds for pseudo-labelling ({@value #PSEUDO_POOL}), read from the
 *     {@code inputs} topic only when pseudo-labels are on
 * @param interpolation how far each fine-tune's result moves back toward its parent ({@value Interpolation#KEY}: {@code off}, or
 *     the least share of the tuned model's new-domain answers the interpolated one keeps; {@link Interpolation})
 */
public record TrainerConfig(CommonConfig common, String host, int port, String groupId, int recentCapacity, int reservoirCapacity,
    int minNewSamples, double replayRatio, int replayMin, int replayMax, int epochs, int batchSize, double learningRate, String freezeBoundary,
    Duration cooldown, Duration maxWait, int maxAttempts, long seed, double lowerRateFactor, int freezeSmallData, int freezeLargeData,
    double freezeSimilarRetained, double freezeFarRetained, Path cacheDir, long cacheMaxBytes, long cacheDiskMaxBytes,
    double distill, Augmentation augment, PseudoLabels.Options pseudo, int pseudoPool, Interpolation interpolation) {
  /** The value of {@code streamtune.trainer.freeze-boundary} that lets the freeze policy choose. */
  public static final String AUTO = "auto";
  /** The bound of the feature cache's files, a size such as {@code 2GB}, {@code 512MiB} or a number of bytes. */
  public static final String CACHE_DISK_MAX = "streamtune.trainer.cache.disk-max";
  public static final String FREEZE_BOUNDARY = "streamtune.trainer.freeze-boundary";
  /** The parent's share in a replayed sample's target, in [0, 0.99]. */
  public static final String DISTILL = "streamtune.trainer.distill";
  /** {@value #DISTILL}'s default. */
  public static final double DEFAULT_DISTILL = 0.5;
  /** How many of the latest served inputs are held for pseudo-labelling. */
  public static final String PSEUDO_POOL = "streamtune.trainer.pseudo-labels.pool";
  private static final long MIN_DISK = 1_000_000L;
  /** The fewest replayed earlier samples in a retrain (with replay on). */
  public static final String REPLAY_MIN = "streamtune.trainer.replay-min";
  /**
   * {@value #REPLAY_MIN}'s default. A retrain on few new-domain labels replays few earlier samples at the ratio alone, and
   * forgets more: on 500 rot90 labels, unfreezing conv2, 1,000 replayed samples lost 2.2–3.1 points of clean accuracy, 2,000 lost
   * 0.9–1.5 and 3,000 0.6–1.1, the new domain's accuracy the same (3 seeds each, 5,000 clean test images; docs/benchmarks.md).
   */
  public static final int DEFAULT_REPLAY_MIN = 2000;
  /**
   * The most replayed earlier samples in a retrain, before augmented copies (0: no cap). It bounds a retrain's time where the
   * buffer is large, and with a high {@code replay-ratio} it lets few labels replay more of the earlier domain without
   * swamping many labels (docs/benchmarks.md, tenth session).
   */
  public static final String REPLAY_MAX = "streamtune.trainer.replay-max";
  /**
   * {@value #REPLAY_MAX}'s default (or {@value #REPLAY_MIN} where that is set higher). With {@link #DEFAULT_REPLAY_RATIO} it
   * replays 2,000 earlier samples up to 333 labels, 3,000 at 500 and 4,000 from 667: with the buffer full, all techniques
   * together on 500 {@code rot90} labels forgot 0.9 points instead of 1.4 at ratio 2, and at 2,000 labels the freeze policy's
   * rows kept their new-domain accuracy (uncapped, ratio 6 replayed 8,000 there and lost 3–5 points; docs/benchmarks.md).
   */
  public static final int DEFAULT_REPLAY_MAX = 4000;
  /** Replayed earlier samples per new-domain sample by default, up to {@link #DEFAULT_REPLAY_MAX}. */
  public static final double DEFAULT_REPLAY_RATIO = 6.0;

  public static TrainerConfig from(Settings s) {
    String boundary = s.string(FREEZE_BOUNDARY, AUTO);
    // any layer name here; the trainer checks it against the stored model's layers when it starts
    if (boundary.isBlank() || !boundary.matches("[A-Za-z0-9_.:/-]+")) {
      throw new ConfigException(FREEZE_BOUNDARY, boundary, "must be 'auto', 'none' or a layer name of the model");
    }
    int small = s.integer("streamtune.trainer.freeze.small-data", 2000, 0, 100_000_000);
    int large = s.integer("streamtune.trainer.freeze.large-data", 5000, 0, 100_000_000);
    if (large < small) {
      throw new ConfigException("streamtune.trainer.freeze.large-data", String.valueOf(large),
          "must be >= streamtune.trainer.freeze.small-data (" + small + ")");
    }
    double similar = s.decimal("streamtune.trainer.freeze.similar-retained", 0.85, 0, 1);
    double far = s.decimal("streamtune.trainer.freeze.far-retained", 0.5, 0, 1);
    if (far > similar) {
      throw new ConfigException("streamtune.trainer.freeze.far-retained", String.valueOf(far),
          "must be <= streamtune.trainer.freeze.similar-retained (" + similar + ")");
    }
    long cacheMb = s.integer("streamtune.trainer.cache.max-mb", 256, 1, 1_000_000);
    int replayMin = s.integer(REPLAY_MIN, DEFAULT_REPLAY_MIN, 0, 10_000_000);
    int replayMax = s.integer(REPLAY_MAX, Math.max(DEFAULT_REPLAY_MAX, replayMin), 0, 10_000_000);
    if (replayMax > 0 && replayMax < replayMin) {
      throw new ConfigException(REPLAY_MAX, String.valueOf(replayMax),
          "must be 0 (no cap) or >= " + REPLAY_MIN + " (" + replayMin + ")");
    }
    return new TrainerConfig(CommonConfig.from(s), s.string("streamtune.trainer.host", "localhost"),
        s.integer("streamtune.trainer.port", 8084, 0, 65535), s.string("streamtune.trainer.group-id", "streamtune-trainer"),
        s.integer("streamtune.trainer.buffer.recent", 6000, 100, 10_000_000),
        s.integer("streamtune.trainer.buffer.reservoir", 4000, 100, 10_000_000),
        s.integer("streamtune.trainer.min-new-samples", 1000, 1, 10_000_000),
        s.decimal("streamtune.trainer.replay-ratio", DEFAULT_REPLAY_RATIO, 0, 100), replayMin, replayMax,
        s.integer("streamtune.trainer.epochs", 3, 1, 1000),
        s.integer("streamtune.trainer.batch-size", 64, 1, 100_000), s.decimal("streamtune.trainer.learning-rate", 1e-3, 1e-8, 1),
        boundary, s.duration("streamtune.trainer.cooldown", Duration.ofSeconds(30)),
        s.duration("streamtune.trainer.max-wait", Duration.ofMinutes(10)), s.integer("streamtune.trainer.max-attempts", 3, 1, 100),
        s.integer("streamtune.trainer.seed", 1234, 0,
            Integer.MAX_VALUE),
        s.decimal("streamtune.trainer.lower-rate-factor", 0.1, 1e-6, 1), small, large, similar, far,
        s.path("streamtune.trainer.cache.dir", Path.of(System.getProperty("java.io.tmpdir"), "streamtune-feature-cache")),
        cacheMb * 1024 * 1024, s.size(CACHE_DISK_MAX, 2_000_000_000L, MIN_DISK, Long.MAX_VALUE),
        s.decimal(DISTILL, DEFAULT_DISTILL, 0, 0.99), Augmentation.parse(s.string(Augmentation.KEY, "none")),
        PseudoLabels.Options.parse(s.decimal(PseudoLabels.KEY, 0, 0, 0.9), s.decimal(PseudoLabels.PRECISION_KEY, 0.95, 0.01, 1)),
        s.integer(PSEUDO_POOL, 4000, 1, 1_000_000), Interpolation.parse(s.string(Interpolation.KEY, "off")));
  }

  /**
   * Replayed earlier samples for a retrain on {@code fresh} new-domain samples: {@link #replayCount(int, Augmentation, double,
   * int, int)} with this config's augmentation.
   */
  public int replayCount(int fresh) {
    return replayCount(fresh, augment, replayRatio, replayMin, replayMax);
  }

  /**
   * Replayed earlier samples for a retrain on {@code fresh} new-domain samples and their augmented copies: what a retrain
   * without augmentation would replay, once more for each copy, so that augmentation does not tilt the mix toward the new
   * domain — neither the ratio, the floor nor the cap: with the defaults a retrain on 200 labels replays 2,000 earlier samples
   * (the floor, 1 to 10), and with two copies each 6,000 (still 1 to 10), not the 3,600 that 600 samples would draw.
   */
  public static int replayCount(int fresh, Augmentation augment, double ratio, int min, int max) {
    return replayCount(fresh, ratio, min, max) * (1 + augment.operations().size());
  }

  /**
   * Replayed earlier samples for a retrain on {@code fresh} new-domain samples: {@code ratio} per new one, at least {@code min}
   * and at most {@code max} (0: no cap; a cap below {@code min} is {@code min}); none when {@code ratio} is 0 (replay off). The
   * buffer may hold fewer: a retrain replays what it has.
   */
  public static int replayCount(int fresh, double ratio, int min, int max) {
    if (ratio <= 0) {
      return 0;
    }
    int count = Math.max((int) Math.round(fresh * ratio), min);
    return max > 0 ? Math.min(count, Math.max(max, min)) : count;
  }

  /** The freeze policy these settings describe; it returns the pinned boundary unless the setting is {@code auto}. */
  public FreezePolicy freezePolicy() {
    return new FreezePolicy(freezeSmallData, freezeLargeData, freezeSimilarRetained, freezeFarRetained, learningRate,
        lowerRateFactor, freezeBoundary.equals(AUTO) ? null : freezeBoundary);
  }
}
