package dev.streamtune.serving.internal;

import dev.streamtune.core.image.ImageFormatException;
import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.model.Networks;
import dev.streamtune.core.records.LabelProbability;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Micro-batching onto inference workers. Requests wait on a bounded queue; a worker takes the first, waits at most
 * {@code maxWait} for up to {@code maxBatch - 1} more, reads the current model once, stacks the images and calls
 * {@code output()} once for the whole batch. A request pinned to a model (a version it asked for, or the one serving when it
 * arrived) runs on that model: a batch holding requests for several models makes one {@code output()} call per model. A model
 * swapped in meanwhile answers the next batch.
 *
 * <p>With more than one worker, each runs its own copy of every model ({@link #replicate}, made and warmed by the swapper off
 * the request path; worker 0 runs the loaded network itself): DL4J networks are never shared across threads. Several workers
 * each on one OpenMP thread use the cores better than one worker whose every op forks and joins an OpenMP team
 * (docs/benchmarks.md: 2 workers x 1 thread ran the Fashion CNN at 1.7-1.9x one caller x 2 threads).
 *
 * <p>{@link #submit} never blocks: a full queue is refused at once. With a {@link ShadowScorer}, each answered batch is offered
 * to it after its answers were completed (it picks its share and queues them for its own thread). Thread-safe.
 */
public final class InferenceBatcher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(InferenceBatcher.class);

  private final ModelHolder models;
  private final int maxBatch;
  private final long maxWaitNanos;
  private final BlockingQueue<Pending> queue;
  private final ServingMetrics metrics;
  private final ShadowScorer shadow;
  private final List<Thread> workers;
  /** Worker i's copy of a model (index 0: the loaded network itself), by model identity; guarded by itself. */
  private final Map<LoadedModel, Network[]> replicas = new IdentityHashMap<>();
  private volatile boolean accepting = true;
  /** The last {@link #RECENT} images answered and the size of the last batch: what a new version is warmed up on. */
  private final java.util.concurrent.atomic.AtomicReferenceArray<float[]> recent = new java.util.concurrent.atomic.AtomicReferenceArray<>(RECENT);
  private final java.util.concurrent.atomic.AtomicInteger recentAt = new java.util.concurrent.atomic.AtomicInteger();
  private volatile int lastBatch;
  static final int RECENT = 64;

  /**
   * One queued request: the encoded image, its pixels as decoded for a spec, the model it is pinned to (null: whichever serves
   * when its batch runs), and the answer to complete.
   */
  private record Pending(byte[] encoded, float[] pixels, ModelSpec.InputFormat format, int topK, LoadedModel pinned,
      CompletableFuture<Inference> answer) {}

  /** One image of a pinned request: as received (kept for the input event) and decoded for the pinned model's spec. */
  public record Input(byte[] encoded, float[] pixels) {
    public Input {
      Objects.requireNonNull(pixels, "pixels");
    }
  }

  public InferenceBatcher(ModelHolder models, int maxBatch, Duration maxWait, int queueMax, ServingMetrics metrics) {
    this(models, maxBatch, maxWait, queueMax, metrics, null);
  }

  /**
   * @param shadow offered every answered batch after its answers were completed (shadow scoring), or null for none
   */
  public InferenceBatcher(ModelHolder models, int maxBatch, Duration maxWait, int queueMax, ServingMetrics metrics,
      ShadowScorer shadow) {
    this(models, maxBatch, maxWait, queueMax, 1, metrics, shadow);
  }

  /**
   * @param workers inference threads, each running its own copy of the models (see {@link #replicate})
   * @param shadow offered every answered batch after its answers were completed (shadow scoring), or null for none
   */
  public InferenceBatcher(ModelHolder models, int maxBatch, Duration maxWait, int queueMax, int workers, ServingMetrics metrics,
      ShadowScorer shadow) {
    if (maxBatch < 1 || queueMax < 1 || workers < 1 || maxWait.isNegative()) {
      throw new IllegalArgumentException("maxBatch " + maxBatch + ", queueMax " + queueMax + ", workers " + workers
          + " must be >= 1 and maxWait " + maxWait + " >= 0");
    }
    this.models = Objects.requireNonNull(models, "models");
    this.maxBatch = maxBatch;
    this.maxWaitNanos = maxWait.toNanos();
    this.queue = new ArrayBlockingQueue<>(queueMax);
    this.metrics = Objects.requireNonNull(metrics, "metrics");
    this.shadow = shadow;
    List<Thread> threads = new ArrayList<>(workers);
    for (int i = 0; i < workers; i++) {
      int index = i;
      Thread t = new Thread(() -> run(index), workers == 1 ? "serving-inference" : "serving-inference-" + i);
      t.setDaemon(true);
      threads.add(t);
    }
    this.workers = List.copyOf(threads);
  }

  public void start() {
    workers.forEach(Thread::start);
  }

  /** The inference threads. */
  public int workers() {
    return workers.size();
  }

  /**
   * Copies a model for every worker but the first, before it serves: the caller (the swapper, off the request path) warms the
   * copies up as it warmed the model. Forgets the copies of models no longer loaded. Call it while no worker runs {@code m}
   * (before it is swapped in or retained).
   *
   * @return the copies, one per worker after the first; empty with one worker
   */
  public List<Network> replicate(LoadedModel m) {
    if (workers.size() == 1) {
      return List.of();
    }
    Network[] copies = new Network[workers.size()];
    copies[0] = m.network();
    for (int i = 1; i < copies.length; i++) {
      copies[i] = m.network().copy();
    }
    synchronized (replicas) {
      replicas.keySet().removeIf(loaded -> models.get(loaded.version()).orElse(null) != loaded);
      replicas.put(m, copies);
    }
    return List.of(copies).subList(1, copies.length);
  }

  /** Worker {@code index}'s copy of {@code m}; made here for a model that was not replicated (pinned after it was forgotten). */
  private Network network(LoadedModel m, int index) {
    if (index == 0) {
      return m.network();
    }
    synchronized (replicas) {
      Network[] copies = replicas.computeIfAbsent(m, k -> {
        Network[] fresh = new Network[workers.size()];
        fresh[0] = k.network();
        return fresh;
      });
      if (copies[index] == null) {
        // rare: a request pinned to a version dropped meanwhile; copying reads the parameters worker 0 may be reading too
        log.info("copying {} v{} for inference worker {} on the request path (it was not replicated ahead)", m.model(),
            m.version(), index);
        copies[index] = m.network().copy();
      }
      return copies[index];
    }
  }

  /**
   * Queues one decoded image for inference.
   *
   * @param encoded the image as received, kept to decode again if the next model takes another size
   * @param pixels the image decoded for a model of {@code spec}
   * @param topK how many labels to answer (at most the model's label count)
   * @return the answer, completed by the worker; completed exceptionally with {@link ServingRejection} ({@code NO_MODEL},
   *     {@code WRONG_SIZE}, {@code SHUTTING_DOWN}) or the inference failure
   * @throws ServingRejection {@code QUEUE_FULL} at once when the queue is full, {@code SHUTTING_DOWN} after {@link #close}
   */
  public CompletableFuture<Inference> submit(byte[] encoded, float[] pixels, ModelSpec spec, int topK) {
    if (topK < 1) {
      throw new IllegalArgumentException("topK must be >= 1, was " + topK);
    }
    if (!accepting) {
      throw new ServingRejection(RejectReason.SHUTTING_DOWN, "serving is shutting down");
    }
    Pending p = new Pending(encoded, pixels, spec.inputFormat(), topK, null, new CompletableFuture<>());
    synchronized (queue) {
      if (!queue.offer(p)) {
        throw queueFull();
      }
    }
    metrics.queueDepth(queue.size());
    return p.answer;
  }

  /**
   * Queues the images of one request, all or none, to be answered by {@code model} whatever serves when their batch runs: the
   * model a request pinned (or read once when it arrived) answers every image of it, even if it is swapped out meanwhile.
   *
   * @param inputs the images, each decoded for {@code model}'s spec
   * @param topK how many labels to answer per image
   * @return one answer per image, in order, completed as {@link #submit(byte[], float[], ModelSpec, int)}'s
   * @throws ServingRejection {@code QUEUE_FULL} at once when they do not all fit in the queue, {@code SHUTTING_DOWN} after
   *     {@link #close}
   */
  public List<CompletableFuture<Inference>> submit(List<Input> inputs, LoadedModel model, int topK) {
    Objects.requireNonNull(model, "model");
    if (topK < 1 || inputs.isEmpty()) {
      throw new IllegalArgumentException("topK must be >= 1 and inputs not empty, were " + topK + " and " + inputs.size());
    }
    if (!accepting) {
      throw new ServingRejection(RejectReason.SHUTTING_DOWN, "serving is shutting down");
    }
    ModelSpec spec = model.spec();
    List<Pending> pending = new ArrayList<>(inputs.size());
    for (Input in : inputs) {
      pending.add(new Pending(in.encoded(), in.pixels(), spec.inputFormat(), topK, model, new CompletableFuture<>()));
    }
    // only the workers take from the queue, so capacity checked under the lock that every submitter holds can only grow
    synchronized (queue) {
      if (queue.remainingCapacity() < pending.size()) {
        throw queueFull();
      }
      queue.addAll(pending);
    }
    metrics.queueDepth(queue.size());
    return pending.stream().map(Pending::answer).toList();
  }

  /** The most images one request may queue at once. */
  public int capacity() {
    return queue.size() + queue.remainingCapacity();
  }

  private ServingRejection queueFull() {
    return new ServingRejection(RejectReason.QUEUE_FULL,
        "inference queue full (" + capacity() + " requests waiting); retry later");
  }

  /**
   * Up to {@link #RECENT} images answered last (channel-major, decoded for the model that answered them) and the size of the
   * last batch: real inputs in the shape serving runs, for warming up a new version. Thread-safe.
   */
  public Recent recent() {
    List<float[]> images = new ArrayList<>(RECENT);
    for (int i = 0; i < RECENT; i++) {
      float[] px = recent.get(i);
      if (px != null) {
        images.add(px);
      }
    }
    return new Recent(images, lastBatch);
  }

  /** Recently answered images, and the size of the last batch (0 before the first). */
  public record Recent(List<float[]> images, int lastBatch) {
    /** Nothing answered yet. */
    public static final Recent NONE = new Recent(List.of(), 0);
  }

  /** Requests waiting for inference. */
  public int depth() {
    return queue.size();
  }

  private void run(int index) {
    List<Pending> batch = new ArrayList<>(maxBatch);
    while (accepting || !queue.isEmpty()) {
      try {
        Pending first = queue.poll(100, TimeUnit.MILLISECONDS);
        if (first == null) {
          continue;
        }
        batch.add(first);
        collect(batch);
        metrics.queueDepth(queue.size());
        answer(batch, index);
      } catch (InterruptedException e) {
        // nobody interrupts this thread but the JVM on exit: answer what was taken and stop
        answer(batch, index);
        break;
      } catch (RuntimeException | Error e) {
        log.error("inference batch of {} failed outside the model call: {}", batch.size(), e.toString());
        fail(batch, e);
      } finally {
        batch.clear();
      }
    }
    // a submit that raced close() may have slipped in after the loop: refuse it rather than leave it waiting
    List<Pending> left = new ArrayList<>();
    queue.drainTo(left);
    fail(left, new ServingRejection(RejectReason.SHUTTING_DOWN, "serving is shutting down"));
    metrics.queueDepth(0);
  }

  /** Adds requests to the batch until it is full or {@code maxWait} after its first has passed. */
  private void collect(List<Pending> batch) throws InterruptedException {
    long deadline = System.nanoTime() + maxWaitNanos;
    while (batch.size() < maxBatch) {
      queue.drainTo(batch, maxBatch - batch.size());
      long remaining = deadline - System.nanoTime();
      if (batch.size() >= maxBatch || remaining <= 0) {
        return;
      }
      Pending next = queue.poll(remaining, TimeUnit.NANOSECONDS);
      if (next == null) {
        return;
      }
      batch.add(next);
    }
  }

  /** Answers a batch: requests pinned to a model run on it, the others on the model serving now; one output() per model. */
  private void answer(List<Pending> batch, int index) {
    LoadedModel serving = models.current();
    List<LoadedModel> order = new ArrayList<>(2);
    Map<LoadedModel, List<Pending>> groups = new IdentityHashMap<>();
    List<Pending> unanswerable = new ArrayList<>();
    for (Pending p : batch) {
      LoadedModel m = p.pinned != null ? p.pinned : serving;
      if (m == null) {
        unanswerable.add(p);
        continue;
      }
      groups.computeIfAbsent(m, k -> {
        order.add(k);
        return new ArrayList<>();
      }).add(p);
    }
    fail(unanswerable, new ServingRejection(RejectReason.NO_MODEL, "no model loaded yet; retry later"));
    for (LoadedModel m : order) {
      answer(m, groups.get(m), index);
    }
  }

  private void answer(LoadedModel model, List<Pending> batch, int index) {
    ModelSpec spec = model.spec();
    Preprocessor pre = Preprocessor.of(spec);
    List<Pending> ready = new ArrayList<>(batch.size());
    List<float[]> images = new ArrayList<>(batch.size());
    int maxK = 1;
    for (Pending p : batch) {
      float[] px = p.pixels;
      if (!p.format.equals(spec.inputFormat())) {
        // decoded for a model of another input format that was swapped out meanwhile: decode for this one
        try {
          if (p.encoded == null) {
            throw new ImageFormatException(ImageFormatException.Kind.WRONG_SIZE, "the input was sent for another input shape");
          }
          px = pre.decode(p.encoded);
        } catch (ImageFormatException e) {
          p.answer.completeExceptionally(new ServingRejection(RejectReason.WRONG_SIZE,
              e.getMessage() + " (" + model.model() + " v" + model.version() + ")"));
          continue;
        }
      }
      ready.add(p);
      images.add(px);
      maxK = Math.max(maxK, p.topK);
    }
    if (ready.isEmpty()) {
      return;
    }
    List<List<LabelProbability>> top;
    float[] flat;
    int classes;
    try {
      INDArray x = pre.batch(images);
      INDArray probabilities = network(model, index).output(x);
      top = Networks.topK(probabilities, spec.labels(), maxK);
      classes = (int) probabilities.size(1);
      flat = probabilities.castTo(DataType.FLOAT).dup('c').data().asFloat();
    } catch (RuntimeException e) {
      log.error("inference failed on {} v{} for a batch of {}: {}", model.model(), model.version(), ready.size(), e.toString());
      fail(ready, e);
      return;
    }
    metrics.batch(ready.size());
    lastBatch = ready.size();
    for (float[] px : images) {
      recent.set(Math.floorMod(recentAt.getAndIncrement(), RECENT), px);
    }
    for (int i = 0; i < ready.size(); i++) {
      Pending p = ready.get(i);
      List<LabelProbability> labels = top.get(i);
      p.answer.complete(new Inference(model.model(), model.version(), labels.subList(0, Math.min(p.topK, labels.size())),
          ready.size(), Arrays.copyOfRange(flat, i * classes, (i + 1) * classes)));
    }
    if (shadow != null) {
      // only now: every answer of the batch is handed back before the shadow sees it; offer neither blocks nor throws
      shadow.offer(model, images, flat, classes);
    }
  }

  private static void fail(List<Pending> batch, Throwable cause) {
    for (Pending p : batch) {
      p.answer.completeExceptionally(cause);
    }
  }

  /** Stops taking requests, answers those already queued, then stops the worker. */
  @Override
  public void close() {
    accepting = false;
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
    try {
      // the workers poll with a short timeout, so they see the flag without an interrupt that could cut a batch short
      for (Thread worker : workers) {
        worker.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    if (workers.stream().noneMatch(Thread::isAlive)) {
      List<Pending> left = new ArrayList<>();
      queue.drainTo(left);
      fail(left, new ServingRejection(RejectReason.SHUTTING_DOWN, "serving is shutting down"));
    }
  }
}
