package dev.streamtune.trainer;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import dev.streamtune.core.model.Networks;
import java.time.Duration;

/**
 * The trainer's settings ({@code streamtune.trainer.*}).
 *
 * @param freezeBoundary the last frozen layer; the layers above it are fine-tuned
 * @param minNewSamples labelled non-held-out samples since the drift onset needed before a retrain
 * @param replayRatio replayed earlier samples per new sample in a retrain
 * @param cooldown the least time between two retrains of a model
 * @param maxWait how long a drift signal waits for enough samples before a retrain runs on what there is (if at least a quarter)
 */
public record TrainerConfig(CommonConfig common, String host, int port, String groupId, int recentCapacity, int reservoirCapacity,
    int minNewSamples, double replayRatio, int epochs, int batchSize, double learningRate, String freezeBoundary,
    Duration cooldown, Duration maxWait, long seed) {
  public static TrainerConfig from(Settings s) {
    String boundary = s.string("streamtune.trainer.freeze-boundary", Networks.DEFAULT_FREEZE_BOUNDARY);
    if (!boundary.equals("none") && !Networks.LAYERS.contains(boundary)) {
      throw new ConfigException("streamtune.trainer.freeze-boundary", boundary, "must be 'none' or one of " + Networks.LAYERS);
    }
    if (boundary.equals("head")) {
      throw new ConfigException("streamtune.trainer.freeze-boundary", boundary, "freezing the head leaves nothing to train");
    }
    return new TrainerConfig(CommonConfig.from(s), s.string("streamtune.trainer.host", "localhost"),
        s.integer("streamtune.trainer.port", 8084, 0, 65535), s.string("streamtune.trainer.group-id", "streamtune-trainer"),
        s.integer("streamtune.trainer.buffer.recent", 6000, 100, 10_000_000),
        s.integer("streamtune.trainer.buffer.reservoir", 4000, 100, 10_000_000),
        s.integer("streamtune.trainer.min-new-samples", 1000, 1, 10_000_000),
        s.decimal("streamtune.trainer.replay-ratio", 2.0, 0, 100), s.integer("streamtune.trainer.epochs", 3, 1, 1000),
        s.integer("streamtune.trainer.batch-size", 64, 1, 100_000), s.decimal("streamtune.trainer.learning-rate", 1e-3, 1e-8, 1),
        boundary, s.duration("streamtune.trainer.cooldown", Duration.ofSeconds(30)),
        s.duration("streamtune.trainer.max-wait", Duration.ofMinutes(10)), s.integer("streamtune.trainer.seed", 1234, 0,
            Integer.MAX_VALUE));
  }
}
