package dev.streamtune.ingest;

import dev.streamtune.core.config.CommonConfig;
import dev.streamtune.core.config.ConfigException;
import dev.streamtune.core.config.Settings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The validated configuration of the ingest service. Built by {@link #from(Settings)}, which names the key and the bad value in a
 * {@link ConfigException}; the compact constructor re-checks every field, so an instance is always valid. Immutable.
 *
 * @param common the settings every service shares (bootstrap, topics, model, store)
 * @param host the HTTP bind address ({@value #HOST}, default {@code localhost})
 * @param port the HTTP port ({@value #PORT}, default 8082; 0 picks a free port)
 * @param applicationId the Kafka Streams application id ({@value #APPLICATION_ID}, default {@code streamtune-ingest}); instances
 *     with the same id share the work
 * @param joinWindow the longest label delay: an input and its feedback join when their timestamps are at most this far apart
 *     ({@value #JOIN_WINDOW}, default 1h)
 * @param bodyMaxBytes the largest HTTP request body accepted, larger ones get 413 ({@value #BODY_MAX_BYTES}, default 1 MiB;
 *     accepts a byte count or {@code 512KiB}, {@code 1MiB}, {@code 1MB}, ...)
 * @param stateDir the Kafka Streams state directory ({@value #STATE_DIR}, default a fresh temporary directory)
 * @param imageMaxPixels an image whose header claims more pixels than this is rejected before it is decoded
 *     ({@value #IMAGE_MAX_PIXELS}, default 16777216 = 4096²); the size, channels and resize policy an image must fit come from
 *     the stored model's spec
 * @param allowNewLabels whether a sample or feedback may name a class the model does not know yet ({@value #LABELS_ALLOW_NEW},
 *     default false: such records are rejected with reason {@code unknown-label}); the trainer then grows the model's head
 * @param maxNewLabels the most distinct new label names one ingest process accepts ({@value #LABELS_MAX_NEW}, default 20)
 */
public record IngestConfig(CommonConfig common, String host, int port, String applicationId, Duration joinWindow,
    int bodyMaxBytes, Path stateDir, int imageMaxPixels, boolean allowNewLabels, int maxNewLabels) {
  public static final String HOST = "streamtune.ingest.host";
  public static final String PORT = "streamtune.ingest.port";
  public static final String APPLICATION_ID = "streamtune.ingest.application-id";
  public static final String JOIN_WINDOW = "streamtune.ingest.join.window";
  public static final String BODY_MAX_BYTES = "streamtune.ingest.body.max-bytes";
  public static final String STATE_DIR = "streamtune.ingest.state.dir";
  public static final String IMAGE_MAX_PIXELS = "streamtune.ingest.image.max-pixels";
  public static final String LABELS_ALLOW_NEW = "streamtune.ingest.labels.allow-new";
  public static final String LABELS_MAX_NEW = "streamtune.ingest.labels.max-new";

  public static final Duration DEFAULT_JOIN_WINDOW = Duration.ofHours(1);
  public static final int DEFAULT_BODY_MAX_BYTES = 1 << 20;
  /** The largest body limit accepted: above this an image no longer fits a default Kafka record anyway. */
  public static final int MAX_BODY_MAX_BYTES = 64 << 20;

  private static final Pattern APP_ID = Pattern.compile("[A-Za-z0-9._-]{1,200}");

  public IngestConfig {
    Objects.requireNonNull(common, "common");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(applicationId, "applicationId");
    Objects.requireNonNull(joinWindow, "joinWindow");
    Objects.requireNonNull(stateDir, "stateDir");
    if (host.isBlank()) {
      throw new ConfigException(HOST, host, "must not be blank");
    }
    if (port < 0 || port > 65535) {
      throw new ConfigException(PORT, String.valueOf(port), "must be between 0 and 65535");
    }
    if (!APP_ID.matcher(applicationId).matches()) {
      throw new ConfigException(APPLICATION_ID, applicationId, "may hold only letters, digits, '.', '_' and '-' (1-200 of them)");
    }
    if (joinWindow.isZero() || joinWindow.isNegative()) {
      throw new ConfigException(JOIN_WINDOW, joinWindow.toString(), "must be positive");
    }
    if (bodyMaxBytes < 1 || bodyMaxBytes > MAX_BODY_MAX_BYTES) {
      throw new ConfigException(BODY_MAX_BYTES, String.valueOf(bodyMaxBytes), "must be between 1 and " + MAX_BODY_MAX_BYTES);
    }
    if (imageMaxPixels < 1) {
      throw new ConfigException(IMAGE_MAX_PIXELS, String.valueOf(imageMaxPixels), "must be at least 1");
    }
    if (maxNewLabels < 0 || maxNewLabels > 10_000) {
      throw new ConfigException(LABELS_MAX_NEW, String.valueOf(maxNewLabels), "must be between 0 and 10000");
    }
  }

  /**
   * Reads and validates the ingest settings (and the common ones).
   *
   * @throws ConfigException naming the key and the value when one is invalid
   */
  public static IngestConfig from(Settings s) {
    CommonConfig common = CommonConfig.from(s);
    Duration window = s.duration(JOIN_WINDOW, DEFAULT_JOIN_WINDOW);
    if (window.isZero()) {
      throw new ConfigException(JOIN_WINDOW, s.string(JOIN_WINDOW, null), "must be positive");
    }
    return new IngestConfig(common, s.string(HOST, "localhost"), s.integer(PORT, 8082, 0, 65535),
        s.string(APPLICATION_ID, "streamtune-ingest"), window,
        (int) s.size(BODY_MAX_BYTES, DEFAULT_BODY_MAX_BYTES, 1, MAX_BODY_MAX_BYTES), stateDir(s), s.integer(IMAGE_MAX_PIXELS, 4096 * 4096, 1, Integer.MAX_VALUE),
        s.bool(LABELS_ALLOW_NEW, false), s.integer(LABELS_MAX_NEW, 20, 0, 10_000));
  }

  /** A copy listening on another HTTP port (0 = free); handy for tests and the standalone process. */
  public IngestConfig withPort(int newPort) {
    return new IngestConfig(common, host, newPort, applicationId, joinWindow, bodyMaxBytes, stateDir, imageMaxPixels, allowNewLabels,
        maxNewLabels);
  }

  private static Path stateDir(Settings s) {
    Path configured = s.path(STATE_DIR, null);
    if (configured != null) {
      return configured;
    }
    try {
      // a fresh directory per process: two instances on one machine never fight over the Streams state lock
      return Files.createTempDirectory("streamtune-ingest-state-");
    } catch (IOException e) {
      throw new ConfigException(STATE_DIR, null, "no value and cannot create a temporary directory: " + e.getMessage());
    }
  }
}
