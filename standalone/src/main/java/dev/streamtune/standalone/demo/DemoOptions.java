package dev.streamtune.standalone.demo;

import dev.streamtune.core.image.Corruption;
import dev.streamtune.trainer.Pretrainer;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;

/**
 * How a demo runs.
 *
 * @param workDir holds the pretrained base ({@code base/}) and one directory per run ({@code runs/})
 * @param guardSamples clean labelled samples bulk-loaded into {@code samples.raw} first, as a labelling tool would
 * @param sourceRequests source-domain requests served before the shift
 * @param maxShiftedRequests shifted requests at most while waiting for the loop to close
 * @param afterRequests fresh shifted requests served by the promoted version to measure accuracy after
 * @param feedbackShare share of served predictions that get a label back; feedbackDelay how long after
 * @param ratePerSecond requests per second the clients send
 * @param settings extra {@code streamtune.*} settings for the services
 * @param report whether to write the HTML report ({@code <run>/report/report.html}) at the end
 * @param against a running deployment to drive instead of the embedded broker and services; null for the one-process demo
 */
public record DemoOptions(Path dataDir, Path workDir, Corruption corruption, int guardSamples, int sourceRequests,
    int maxShiftedRequests, int afterRequests, double feedbackShare, Duration feedbackDelay, int ratePerSecond, int concurrency,
    Pretrainer.Options pretrain, Map<String, String> settings, Duration timeout, long seed, Consumer<String> out,
    boolean report, Against against) {
  /** Shifted requests the pool must leave at least (the drift, the labels a retrain needs, the verdict). */
  static final int MIN_SHIFTED = 5000;

  /**
   * A running split deployment: its Kafka bootstrap servers (the watcher reads drift, candidates, decisions and promotions
   * there, and the clean labelled images are loaded into samples.raw), a serving node's and an ingest node's HTTP base URLs,
   * and optionally an evaluator's (its {@code /metrics} give the accuracy estimate before labels; null: not read).
   */
  public record Against(String bootstrap, URI serving, URI ingest, URI evaluator) {
    public Against {
      if (bootstrap == null || bootstrap.isBlank() || serving == null || ingest == null) {
        throw new IllegalArgumentException("a deployment needs --bootstrap, --serving and --ingest together");
      }
    }
  }

  /** Options of a one-process run. */
  public DemoOptions(Path dataDir, Path workDir, Corruption corruption, int guardSamples, int sourceRequests,
      int maxShiftedRequests, int afterRequests, double feedbackShare, Duration feedbackDelay, int ratePerSecond,
      int concurrency, Pretrainer.Options pretrain, Map<String, String> settings, Duration timeout, long seed,
      Consumer<String> out, boolean report) {
    this(dataDir, workDir, corruption, guardSamples, sourceRequests, maxShiftedRequests, afterRequests, feedbackShare,
        feedbackDelay, ratePerSecond, concurrency, pretrain, settings, timeout, seed, out, report, null);
  }

  /** Options of a run that writes its report. */
  public DemoOptions(Path dataDir, Path workDir, Corruption corruption, int guardSamples, int sourceRequests,
      int maxShiftedRequests, int afterRequests, double feedbackShare, Duration feedbackDelay, int ratePerSecond,
      int concurrency, Pretrainer.Options pretrain, Map<String, String> settings, Duration timeout, long seed,
      Consumer<String> out) {
    this(dataDir, workDir, corruption, guardSamples, sourceRequests, maxShiftedRequests, afterRequests, feedbackShare,
        feedbackDelay, ratePerSecond, concurrency, pretrain, settings, timeout, seed, out, true);
  }

  public DemoOptions {
    settings = Map.copyOf(settings);
    if (corruption == Corruption.NONE) {
      throw new IllegalArgumentException("the demo needs a shift: --corruption must not be none");
    }
    if (guardSamples < 0 || sourceRequests < 1 || maxShiftedRequests < 1 || afterRequests < 1 || concurrency < 1
        || ratePerSecond < 1) {
      throw new IllegalArgumentException("demo sizes must be positive");
    }
    if (!(feedbackShare > 0 && feedbackShare <= 1)) {
      throw new IllegalArgumentException("--feedback-share must be in (0,1], was " + feedbackShare);
    }
    // the pool: the test split, then the training images after pretraining's (ImagePool); the shifted phase takes what is left,
    // up to maxShiftedRequests, and needs some to detect the shift and train on
    int pool = 10_000 + 60_000 - pretrain.trainImages();
    int needed = guardSamples + sourceRequests + Math.min(maxShiftedRequests, MIN_SHIFTED) + afterRequests;
    if (needed > pool) {
      throw new IllegalArgumentException("the demo needs " + needed + " images unseen by pretraining (guard, source, at least "
          + MIN_SHIFTED + " shifted and the after phase's), there are " + pool + "; lower --guard-samples or the request counts");
    }
  }
}
