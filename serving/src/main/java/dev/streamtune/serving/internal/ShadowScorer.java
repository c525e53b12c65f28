package dev.streamtune.serving.internal;

import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.json.Versioned;
import dev.streamtune.core.kafka.Topic;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.records.ShadowScore;
import dev.streamtune.serving.internal.ServingMetrics.ShadowDrop;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shadow scoring: runs a candidate (the <em>shadow</em>, chosen and loaded by {@link CandidateFollower}) beside the champion on
 * a share of the images the champion answered, and publishes how the two compare, per shadow version: meters in
 * {@link ServingMetrics} ({@code streamtune.serving.shadow.*}) and a {@link ShadowScore} window every {@code summaryInputs}
 * scored images or every {@code summaryInterval}, and when the shadow is dropped.
 *
 * <p>It never touches a live request. The inference worker hands it a batch only after the batch's answers were completed
 * ({@link #offer}, which neither blocks nor throws); the images picked (each with probability {@code share}) go with the
 * champion's probabilities onto a bounded queue, and one low-priority thread, the only one that runs the shadow network, scores
 * them. A full queue drops the batch and counts it ({@code reason=queue-full}); a shadow that fails counts its images
 * ({@code reason=error}) and the champion's answers were long sent. Only images answered by the shadow's parent are picked:
 * requests pinned to another version, and batches answered after a swap, are not comparable. Thread-safe.
 */
public final class ShadowScorer implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(ShadowScorer.class);
  private static final long POLL_MILLIS = 100;

  /**
   * A shadow and the champion it is compared with.
   *
   * @param shadow the candidate's version
   * @param champion the version whose answered images it scores (its parent)
   */
  public record Pair(int shadow, int champion) {}

  /**
   * Running totals of one pair on this node since the shadow was first loaded; what the gauges read. Thread-safe (written by the
   * shadow thread, read by scrapes).
   */
  public static final class Tally {
    private long scored;
    private long agreed;
    private double championSum;
    private double shadowSum;

    synchronized void add(int inputs, int agreedInputs, double championConfidenceSum, double shadowConfidenceSum) {
      scored += inputs;
      agreed += agreedInputs;
      championSum += championConfidenceSum;
      shadowSum += shadowConfidenceSum;
    }

    /** Scored images so far. */
    public synchronized long scored() {
      return scored;
    }

    /** Agreed ÷ scored, NaN before the first. */
    public synchronized double agreement() {
      return scored == 0 ? Double.NaN : agreed / (double) scored;
    }

    /** The champion's mean top-1 probability on the scored images, NaN before the first. */
    public synchronized double championMeanConfidence() {
      return scored == 0 ? Double.NaN : championSum / scored;
    }

    /** The shadow's mean top-1 probability on the same images, NaN before the first. */
    public synchronized double shadowMeanConfidence() {
      return scored == 0 ? Double.NaN : shadowSum / scored;
    }
  }

  /** The shadow in use: the loaded candidate (owned by the shadow thread), its pair's totals, and when it was taken. */
  private record Active(LoadedModel model, Pair pair, Tally tally, Instant since) {}

  /** Images picked from one answered batch, with the champion's answer to each. */
  private record Job(Active active, List<float[]> pixels, float[] championProbabilities, int classes,
      List<String> championLabels) {}

  /** The open window of one pair: what the next {@link ShadowScore} sums up. Used by the shadow thread only. */
  private static final class Window {
    final Active active;
    final Instant start;
    long inputs;
    long agreed;
    double championSum;
    double shadowSum;

    Window(Active active, Instant start) {
      this.active = active;
      this.start = start;
    }
  }

  private final String model;
  private final String node;
  private final double share;
  private final int summaryInputs;
  private final Duration summaryInterval;
  private final ServingMetrics metrics;
  private final Consumer<ShadowScore> publish;
  private final Clock clock;
  private final BlockingQueue<Job> queue;
  private final AtomicReference<Active> active = new AtomicReference<>();
  private final Map<Pair, Tally> tallies = new HashMap<>();
  private final Thread thread;
  private volatile boolean closed;
  private volatile long lastErrorLogNanos = System.nanoTime() - TimeUnit.MINUTES.toNanos(1);

  /**
   * @param node this node's name in the records (its client id)
   * @param share the share of answered images scored by the shadow too, in (0, 1]
   * @param queueMax batches that may wait for the shadow thread
   * @param publish sends one window (e.g. {@link #toKafka}); called on the shadow thread, must not throw
   */
  public ShadowScorer(String model, String node, double share, int queueMax, int summaryInputs, Duration summaryInterval,
      ServingMetrics metrics, Consumer<ShadowScore> publish, Clock clock) {
    if (!(share > 0 && share <= 1) || queueMax < 1 || summaryInputs < 1 || summaryInterval.isNegative()
        || summaryInterval.isZero()) {
      throw new IllegalArgumentException("share " + share + " must be in (0, 1], queueMax " + queueMax + " and summaryInputs "
          + summaryInputs + " >= 1, summaryInterval " + summaryInterval + " > 0");
    }
    this.model = Objects.requireNonNull(model, "model");
    this.node = Objects.requireNonNull(node, "node");
    this.share = share;
    this.summaryInputs = summaryInputs;
    this.summaryInterval = summaryInterval;
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.publish = Objects.requireNonNull(publish, "publish");
    this.clock = Objects.requireNonNull(clock, "clock");
    this.queue = new ArrayBlockingQueue<>(queueMax);
    this.thread = new Thread(this::run, "serving-shadow");
    this.thread.setDaemon(true);
    // the thread lowers its own nice value when it starts (BackgroundPriority); the bounds that hold everywhere are the share
    // and the queue
    this.thread.setPriority(Thread.MIN_PRIORITY);
  }

  /** Publishes windows on {@code topic}, keyed by model name, counting each as an event sent or failed; never blocks long. */
  public static Consumer<ShadowScore> toKafka(Producer<String, ShadowScore> producer, Topic<String, ShadowScore> topic,
      ServingMetrics metrics) {
    return score -> {
      try {
        producer.send(new ProducerRecord<>(topic.name(), score.model(), score), (md, e) -> {
          if (e == null) {
            metrics.eventSent(topic.name());
          } else {
            metrics.eventFailed(topic.name());
            log.warn("could not publish the shadow score of {} v{} beside v{} to {}: {}", score.model(), score.shadowVersion(),
                score.championVersion(), topic.name(), e.toString());
          }
        });
      } catch (RuntimeException e) {
        metrics.eventFailed(topic.name());
        log.warn("could not publish the shadow score of {} v{} beside v{} to {}: {}", score.model(), score.shadowVersion(),
            score.championVersion(), topic.name(), e.toString());
      }
    };
  }

  public void start() {
    thread.start();
  }

  /**
   * Scores {@code shadow} beside {@code champion} from now on, in place of any shadow before. The caller has loaded, verified
   * and warmed it up and hands it over: from now on only the shadow thread runs it.
   */
  public void use(LoadedModel shadow, int champion) {
    Pair pair = new Pair(shadow.version(), champion);
    Tally tally;
    synchronized (tallies) {
      tally = tallies.computeIfAbsent(pair, p -> new Tally());
    }
    metrics.shadowStarted(pair.shadow(), pair.champion(), tally);
    Active previous = active.getAndSet(new Active(shadow, pair, tally, clock.instant()));
    log.info("scoring {} v{} in the shadow of v{} on {} of the answered images{}", model, pair.shadow(), pair.champion(),
        share, previous == null ? "" : " (in place of v" + previous.pair().shadow() + ")");
  }

  /** Stops scoring the shadow, if any; {@code why} is logged. The window open is published by the shadow thread. */
  public void drop(String why) {
    Active previous = active.getAndSet(null);
    if (previous != null) {
      metrics.shadowStopped();
      log.info("no longer scoring {} v{} in the shadow of v{}: {} (agreement {} on {} images on this node)", model,
          previous.pair().shadow(), previous.pair().champion(), why, previous.tally().agreement(), previous.tally().scored());
    }
  }

  /** The pair scored now, if any. */
  public Optional<Pair> current() {
    Active a = active.get();
    return a == null ? Optional.empty() : Optional.of(a.pair());
  }

  /**
   * Offers a batch the champion answered: picks each image with probability {@code share} when a shadow of {@code answered}
   * is in use, and queues the picked ones for the shadow thread. Call it after the batch's answers were completed. Never blocks
   * and never throws.
   *
   * @param answered the model that answered the batch
   * @param images the batch's images, as they were run ({@code answered}'s input)
   * @param probabilities {@code [images, classes]} row-major: the champion's answers; read only
   */
  public void offer(LoadedModel answered, List<float[]> images, float[] probabilities, int classes) {
    try {
      Active a = active.get();
      if (a == null || closed || answered.version() != a.pair().champion()
          || !answered.spec().inputFormat().equals(a.model().spec().inputFormat())) {
        return;
      }
      List<float[]> picked = new ArrayList<>();
      float[] rows = new float[images.size() * classes];
      ThreadLocalRandom random = ThreadLocalRandom.current();
      for (int i = 0; i < images.size(); i++) {
        if (share >= 1 || random.nextDouble() < share) {
          System.arraycopy(probabilities, i * classes, rows, picked.size() * classes, classes);
          picked.add(images.get(i));
        }
      }
      if (picked.isEmpty()) {
        return;
      }
      Job job = new Job(a, List.copyOf(picked), Arrays.copyOf(rows, picked.size() * classes), classes,
          answered.spec().labels());
      if (!queue.offer(job)) {
        metrics.shadowDropped(a.pair().shadow(), a.pair().champion(), ShadowDrop.QUEUE_FULL, picked.size());
      }
    } catch (RuntimeException e) {
      // the request path must not pay for shadow scoring: say so, at most once a minute
      errorOnce("offering a batch to the shadow failed: " + e);
    }
  }

  private void run() {
    BackgroundPriority.lowerCurrentThread();
    Window window = null;
    while (!closed) {
      try {
        Job job = queue.poll(POLL_MILLIS, TimeUnit.MILLISECONDS);
        Active now = active.get();
        if (window != null && window.active != now) {
          close(window); // the shadow was dropped or replaced: its last window goes out now
          window = null;
        }
        if (job != null) {
          if (job.active() != now) {
            metrics.shadowDropped(job.active().pair().shadow(), job.active().pair().champion(), ShadowDrop.SUPERSEDED,
                job.pixels().size());
          } else {
            if (window == null) {
              window = new Window(now, now.since());
            }
            score(job, window);
          }
        }
        if (window != null && window.inputs > 0 && (window.inputs >= summaryInputs
            || !clock.instant().isBefore(window.start.plus(summaryInterval)))) {
          Instant end = close(window);
          window = new Window(window.active, end);
        }
      } catch (InterruptedException e) {
        break;
      } catch (RuntimeException | Error e) {
        // never let one bad batch end shadow scoring; the window keeps what it had
        errorOnce("shadow scoring failed outside the shadow model: " + e);
      }
    }
    if (window != null) {
      close(window);
    }
  }

  /** Runs the shadow on a job's images and adds the comparison to the window, the pair's totals and the meters. */
  private void score(Job job, Window window) {
    LoadedModel shadow = job.active().model();
    Pair pair = job.active().pair();
    int n = job.pixels().size();
    float[] out;
    int shadowClasses;
    try {
      INDArray probabilities = shadow.network().output(Preprocessor.of(shadow.spec()).batch(job.pixels()));
      shadowClasses = (int) probabilities.size(1);
      out = probabilities.castTo(DataType.FLOAT).dup('c').data().asFloat();
      if (probabilities.rank() != 2 || probabilities.size(0) != n || shadowClasses != shadow.spec().labels().size()) {
        throw new IllegalStateException("the shadow answered shape " + Arrays.toString(probabilities.shape()) + " for " + n
            + " images of " + shadow.spec().labels().size() + " labels");
      }
    } catch (RuntimeException e) {
      metrics.shadowDropped(pair.shadow(), pair.champion(), ShadowDrop.ERROR, n);
      errorOnce("the shadow " + model + " v" + pair.shadow() + " failed on " + n + " images: " + e);
      return;
    }
    List<String> shadowLabels = shadow.spec().labels();
    int agreed = 0;
    double championSum = 0;
    double shadowSum = 0;
    for (int i = 0; i < n; i++) {
      int c = argMax(job.championProbabilities(), i * job.classes(), job.classes());
      int s = argMax(out, i * shadowClasses, shadowClasses);
      championSum += job.championProbabilities()[i * job.classes() + c];
      shadowSum += out[i * shadowClasses + s];
      // by name: a candidate with a grown head has more labels, in the same order for the old ones
      if (job.championLabels().get(c).equals(shadowLabels.get(s))) {
        agreed++;
      }
    }
    window.inputs += n;
    window.agreed += agreed;
    window.championSum += championSum;
    window.shadowSum += shadowSum;
    job.active().tally().add(n, agreed, championSum, shadowSum);
    metrics.shadowScored(pair.shadow(), pair.champion(), n, agreed);
  }

  private static int argMax(float[] values, int from, int length) {
    int best = 0;
    for (int j = 1; j < length; j++) {
      if (values[from + j] > values[from + best]) {
        best = j;
      }
    }
    return best;
  }

  /** Publishes a window with at least one image; returns when it closed. */
  private Instant close(Window w) {
    Instant end = clock.instant();
    if (w.inputs == 0) {
      return end;
    }
    Pair pair = w.active.pair();
    ShadowScore score = new ShadowScore(Versioned.CURRENT, model, pair.champion(), pair.shadow(), node, w.inputs, w.agreed,
        clamp(w.championSum / w.inputs), clamp(w.shadowSum / w.inputs), w.start, end.isBefore(w.start) ? w.start : end);
    try {
      publish.accept(score);
    } catch (RuntimeException e) {
      errorOnce("publishing a shadow score failed: " + e);
    }
    return end;
  }

  /** Float sums of probabilities may stray past 1 by a rounding error. */
  private static double clamp(double p) {
    return Math.max(0, Math.min(1, p));
  }

  private void errorOnce(String what) {
    long now = System.nanoTime();
    if (now - lastErrorLogNanos >= TimeUnit.MINUTES.toNanos(1)) {
      lastErrorLogNanos = now;
      log.warn("{} (counted in {}; further failures this minute only counted)", what, ServingMetrics.SHADOW_DROPPED);
    }
  }

  /** Stops the shadow thread after the batch it is scoring, publishing the window open; what is queued is not scored. */
  @Override
  public void close() {
    closed = true;
    if (thread.getState() == Thread.State.NEW) {
      return;
    }
    try {
      thread.join(TimeUnit.SECONDS.toMillis(30));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
