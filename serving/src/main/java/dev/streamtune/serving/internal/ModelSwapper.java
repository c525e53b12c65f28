package dev.streamtune.serving.internal;

import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.LoadedModel;
import dev.streamtune.core.model.Manifest;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.ModelStore;
import dev.streamtune.core.model.ModelVerificationException;
import dev.streamtune.core.model.Network;
import dev.streamtune.core.records.Promotion;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads a model version off the request path (on the follower's thread, at low CPU priority), verifies it (store checksum, the
 * announced sha256, an output of one column per label), warms it up on the images serving answered last and only then swaps it
 * into the {@link ModelHolder}; each swap opens a window of {@link SwapJitter} on the latencies of the requests meanwhile. A version
 * that fails any step is logged and counted, and the model serving keeps serving. Called from one thread (the promotion
 * follower).
 */
public final class ModelSwapper {
  private static final Logger log = LoggerFactory.getLogger(ModelSwapper.class);

  private final ModelStore store;
  private final String model;
  private final ModelHolder holder;
  private final int warmBatch;
  private final ServingMetrics metrics;
  private final java.util.function.Supplier<InferenceBatcher.Recent> recent;
  private final java.util.function.Function<LoadedModel, List<Network>> replicate;

  /**
   * @param warmBatch the rows of the dummy warm-up batch: the largest batch the worker will run
   */
  public ModelSwapper(ModelStore store, String model, ModelHolder holder, int warmBatch, ServingMetrics metrics) {
    this(store, model, holder, warmBatch, metrics, () -> InferenceBatcher.Recent.NONE);
  }

  /**
   * @param recent the images serving answered last and its last batch size: a new version is warmed up on them, at the largest
   *     batch and at the last batch's size, rather than on a dummy batch
   */
  public ModelSwapper(ModelStore store, String model, ModelHolder holder, int warmBatch, ServingMetrics metrics,
      java.util.function.Supplier<InferenceBatcher.Recent> recent) {
    this(store, model, holder, warmBatch, metrics, recent, m -> List.of());
  }

  /**
   * @param replicate copies of a loaded version for the inference workers beyond the first ({@link InferenceBatcher#replicate}):
   *     each is warmed up as the version itself, before it serves
   */
  public ModelSwapper(ModelStore store, String model, ModelHolder holder, int warmBatch, ServingMetrics metrics,
      java.util.function.Supplier<InferenceBatcher.Recent> recent,
      java.util.function.Function<LoadedModel, List<Network>> replicate) {
    this.recent = Objects.requireNonNull(recent, "recent");
    this.replicate = Objects.requireNonNull(replicate, "replicate");
    this.store = Objects.requireNonNull(store, "store");
    this.model = Objects.requireNonNull(model, "model");
    this.holder = Objects.requireNonNull(holder, "holder");
    this.warmBatch = warmBatch;
    this.metrics = Objects.requireNonNull(metrics, "metrics");
  }

  /**
   * Serves a promoted version unless it serves already.
   *
   * @return true when {@code promotion}'s version serves afterwards
   */
  public boolean apply(Promotion promotion) {
    if (!promotion.model().equals(model)) {
      throw new IllegalArgumentException("promotion of '" + promotion.model() + "' given to the swapper of '" + model + "'");
    }
    OptionalInt serving = holder.version();
    if (serving.isPresent() && serving.getAsInt() == promotion.version()) {
      log.info("promotion of {} v{} ({}): already serving it", model, promotion.version(), promotion.reason());
      return true;
    }
    boolean swapped = swapIn(promotion.version(), promotion.sha256(), "promoted: " + promotion.reason());
    if (swapped && promotion.driftAt() != null) {
      metrics.adapted(promotion.driftAt());
    }
    return swapped;
  }

  /**
   * Serves the newest promotion that loads, trying older ones only when a newer one fails: what a node that had been running
   * all along would serve. With none loadable and nothing serving, serves the base model.
   *
   * @param promotions this model's promotions, oldest first
   * @return true when a model serves afterwards
   */
  public boolean applyNewest(List<Promotion> promotions) {
    List<Promotion> newestFirst = new ArrayList<>(promotions);
    Collections.reverse(newestFirst);
    List<Integer> tried = new ArrayList<>();
    for (int i = 0; i < newestFirst.size(); i++) {
      Promotion p = newestFirst.get(i);
      if (tried.contains(p.version())) {
        continue;
      }
      tried.add(p.version());
      if (apply(p)) {
        retainPrevious(newestFirst.subList(i + 1, newestFirst.size()));
        return true;
      }
    }
    if (!newestFirst.isEmpty()) {
      log.warn("none of the promotions of {} could be loaded (versions {})", model, tried);
    }
    return holder.current() != null || serveBase();
  }

  /**
   * Loads the versions served before the one serving now, nearest first, while the holder keeps more: what a node that had been
   * running all along would hold for pinned requests. The base model counts as served before the first promotion. A version
   * that does not load is logged and skipped.
   */
  private void retainPrevious(List<Promotion> olderNewestFirst) {
    List<Integer> done = new ArrayList<>();
    holder.version().ifPresent(done::add);
    List<Promotion> candidates = new ArrayList<>(olderNewestFirst);
    store.base(model).ifPresent(b -> candidates.add(null)); // null: the base model, verified against its manifest only
    for (Promotion p : candidates) {
      if (!holder.hasRoom()) {
        return;
      }
      int version = p != null ? p.version() : store.base(model).orElseThrow().version();
      if (done.contains(version)) {
        continue;
      }
      done.add(version);
      try {
        long t0 = System.nanoTime();
        LoadedModel m = store.load(model, version, p == null ? null : p.sha256());
        warmUp(m);
        metrics.loaded(Duration.ofNanos(System.nanoTime() - t0));
        if (holder.retain(m)) {
          log.info("keeping {} v{} loaded for pinned requests (served before v{})", model, version, done.get(0));
        }
      } catch (RuntimeException e) {
        log.warn("cannot keep {} v{} loaded for pinned requests: {}", model, version, e.getMessage());
      }
    }
  }

  /**
   * Serves the base model (the lowest stored version) when nothing serves yet.
   *
   * @return true when a model serves afterwards; false when the store holds no version of the model or it does not load
   */
  public boolean serveBase() {
    if (holder.current() != null) {
      return true;
    }
    Optional<Manifest> base = store.base(model);
    if (base.isEmpty()) {
      return false;
    }
    return swapIn(base.get().version(), null, "base model, nothing promoted");
  }

  private boolean swapIn(int version, String sha256, String why) {
    // the first model has no requests before it to compare with: no jitter window
    boolean measured = holder.current() != null;
    if (measured) {
      metrics.swapStarted();
    }
    try {
      return swapInWindow(version, sha256, why);
    } finally {
      if (measured) {
        metrics.swapEnded(version);
      }
    }
  }

  private boolean swapInWindow(int version, String sha256, String why) {
    long t0 = System.nanoTime();
    Optional<LoadedModel> kept = holder.get(version);
    if (kept.isPresent() && (sha256 == null || sha256.equals(kept.get().manifest().sha256()))) {
      // still loaded, verified and warm (kept for pinned requests): a rollback to it needs no reload
      LoadedModel previous = holder.swap(kept.get());
      metrics.swapped(version);
      log.info("serving {} v{} again ({}; kept loaded, sha256 {}); was {}", model, version, why, kept.get().manifest().sha256(),
          previous == null ? "none" : "v" + previous.version());
      return true;
    }
    LoadedModel next;
    try {
      next = store.load(model, version, sha256);
      warmUp(next);
      metrics.loaded(Duration.ofNanos(System.nanoTime() - t0));
    } catch (ModelVerificationException e) {
      metrics.swapFailed();
      log.warn("refused {} v{} ({}): {}; still serving {}", model, version, why, e.getMessage(), serving());
      return false;
    } catch (RuntimeException e) {
      metrics.swapFailed();
      log.warn("refused {} v{} ({}): cannot run it: {}; still serving {}", model, version, why, e.toString(), serving());
      return false;
    }
    LoadedModel previous = holder.swap(next);
    metrics.swapped(version);
    log.info("serving {} v{} ({}; sha256 {}; loaded, verified and warmed in {} ms); was {}", model, version, why,
        next.manifest().sha256(), Duration.ofNanos(System.nanoTime() - t0).toMillis(),
        previous == null ? "none" : "v" + previous.version());
    return true;
  }

  /**
   * Proves the network runs and warms it up on what serving answered last, at the largest batch and at the last batch's size
   * (workspaces and kernels for the shapes requests will bring); on a dummy batch before any request.
   */
  private void warmUp(LoadedModel m) {
    InferenceBatcher.Recent r = recent.get();
    int size = m.spec().imageSize();
    List<float[]> real = r.images().stream().filter(px -> px.length == size).toList();
    List<List<float[]>> batches = new ArrayList<>();
    if (real.isEmpty()) {
      batches.add(Collections.nCopies(Math.max(1, warmBatch), new float[size]));
    } else {
      batches.add(cycle(real, warmBatch));
      if (r.lastBatch() > 0 && r.lastBatch() != warmBatch) {
        batches.add(cycle(real, r.lastBatch()));
      }
    }
    for (List<float[]> b : batches) {
      warmUp(m, m.network(), model, b);
    }
    // the other workers' copies: made from the verified network, warmed on the same batches
    for (Network copy : replicate.apply(m)) {
      for (List<float[]> b : batches) {
        warmUp(m, copy, model, b);
      }
    }
  }

  private static List<float[]> cycle(List<float[]> images, int n) {
    List<float[]> out = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      out.add(images.get(i % images.size()));
    }
    return out;
  }

  /**
   * Proves a loaded version runs as its spec says and warms it up: its manifest names {@code model}, and one {@code output()} on
   * a dummy batch of {@code warmBatch} rows answers one column per label. Run on the thread that owns {@code m}.
   *
   * @throws ModelVerificationException when it does not
   */
  static void warmUp(LoadedModel m, String model, int warmBatch) {
    warmUp(m, m.network(), model, Collections.nCopies(Math.max(1, warmBatch), new float[m.spec().imageSize()]));
  }

  private static void warmUp(LoadedModel m, Network network, String model, List<float[]> images) {
    ModelSpec spec = m.spec();
    if (!m.model().equals(model)) {
      throw new ModelVerificationException("manifest names model '" + m.model() + "'");
    }
    INDArray out = network.output(Preprocessor.of(spec).batch(images));
    if (out.rank() != 2 || out.size(1) != spec.labels().size()) {
      throw new ModelVerificationException("the network answers shape " + java.util.Arrays.toString(out.shape()) + " but the spec names "
          + spec.labels().size() + " labels");
    }
  }

  private String serving() {
    OptionalInt v = holder.version();
    return v.isPresent() ? model + " v" + v.getAsInt() : "nothing";
  }
}
