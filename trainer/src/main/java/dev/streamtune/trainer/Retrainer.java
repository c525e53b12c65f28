package dev.streamtune.trainer;

import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.trainer.internal.FeatureCache;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * The retrain recipe, one for the trainer service and the evaluation: fine-tune a network above the plan's freeze boundary on
 * labelled images — from the boundary's activations in the {@link FeatureCache} (computed by the champion, whose frozen part a
 * grown head leaves as it was) or, with no boundary, on the images — for either network class ({@link FineTuner} for a
 * {@code MultiLayerNetwork}, {@link GraphFineTuner} for a {@code ComputationGraph}, whose trained batch-norm statistics are
 * then re-estimated). Not thread-safe: one retrain at a time per instance (the cache is shared state).
 */
public final class Retrainer {
  /** Told of the feature cache's part of a retrain (before a corrupt entry fails it), e.g. to count and log it. */
  @FunctionalInterface
  public interface FeatureListener {
    void looked(CacheUse use, long millis);
  }

  /** Where a retrain's frozen activations came from: the cache's memory, its files, or a forward pass (corrupt: recomputed). */
  public record CacheUse(int memoryHits, int diskHits, int computed, int corrupt) {
    public int hits() {
      return memoryHits + diskHits;
    }
  }

  private final FeatureCache cache;
  private final int epochs;
  private final int batchSize;
  private final long seed;

  /**
   * A retrainer with its frozen-activation cache: {@code cacheMaxBytes} in memory, spilled to files under {@code cacheDir}
   * bounded by {@code cacheDiskMaxBytes} (least recently used deleted first). One process per cache directory.
   */
  public Retrainer(Path cacheDir, long cacheMaxBytes, long cacheDiskMaxBytes, int epochs, int batchSize, long seed) {
    this(new FeatureCache(cacheDir, cacheMaxBytes, cacheDiskMaxBytes), epochs, batchSize, seed);
  }

  private Retrainer(FeatureCache cache, int epochs, int batchSize, long seed) {
    this.cache = Objects.requireNonNull(cache, "cache");
    if (epochs < 1 || batchSize < 1) {
      throw new IllegalArgumentException("epochs and batch size must be >= 1, were " + epochs + ", " + batchSize);
    }
    this.epochs = epochs;
    this.batchSize = batchSize;
    this.seed = seed;
  }

  /**
   * Fine-tunes {@code toTrain} (the champion, or the champion with a grown head) above {@code plan}'s boundary.
   *
   * @param champion computes the frozen activations (its frozen part is {@code toTrain}'s)
   * @param backboneKey names the champion's frozen part in the cache ({@link #backboneKey})
   * @param spec the champion's spec: how {@code images} were decoded
   * @param ids one unique id per image (the cache's key)
   * @param images decoded for {@code spec} ({@link Preprocessor#decode})
   * @param labels label indices, one per image
   * @param listener told of the cache lookup when the frozen part's activations are used
   * @throws CorruptFeatureCacheException when cached activations failed their checksum (deleted, recomputed next time)
   * @throws TrainingDivergedException when the loss or the weights become NaN or infinite
   */
  public FineTuner.Result retrain(Network champion, String backboneKey, Network toTrain, ModelSpec spec, FreezePlan plan,
      List<String> ids, List<float[]> images, int[] labels, FeatureListener listener) {
    Preprocessor pre = Preprocessor.of(spec);
    boolean graph = toTrain.type() == ModelSpec.NetworkType.GRAPH;
    if (plan.freezesNothing()) {
      FineTuner.Result r = graph
          ? GraphFineTuner.fineTune(toTrain.graph(), plan, epochs, batchSize, images, labels, pre, seed)
          : FineTuner.fineTune(toTrain.multiLayer(), plan, epochs, batchSize, images, labels, spec.height(), seed);
      if (graph) {
        GraphFineTuner.recalibrate(r, images, pre, Pretrainer.RECALIBRATION_IMAGES);
      }
      return r;
    }
    long t0 = System.nanoTime();
    FeatureCache.Lookup features = graph
        ? cache.features(backboneKey, batch -> GraphFineTuner.frozenActivations(champion.graph(), plan.boundary(),
            pre.batch(batch)), ids, images, 256)
        : cache.features(backboneKey, champion.multiLayer(), plan.boundary(), ids, images, spec.height(), 256);
    listener.looked(new CacheUse(features.memoryHits(), features.diskHits(), features.computed(), features.corrupt()),
        (System.nanoTime() - t0) / 1_000_000);
    if (features.corrupt() > 0) {
      // the files were deleted and the entries recomputed; a disk that corrupts one file may corrupt more, unseen
      throw new CorruptFeatureCacheException(features.corrupt() + " cached activation file(s) of backbone " + backboneKey
          + " failed their checksum (deleted and recomputed for the next retrain)");
    }
    FineTuner.Result r = graph
        ? GraphFineTuner.fineTuneFromFeatures(toTrain.graph(), plan, epochs, batchSize, features.features(),
            GraphFineTuner.activationShape(champion.graph(), plan.boundary(), spec.batchShape(1)), labels, seed)
        : FineTuner.fineTuneFromFeatures(toTrain.multiLayer(), plan, epochs, batchSize, features.features(), labels,
            spec.height(), seed);
    r = r.withCachedFeatureHits(features.hits());
    if (graph) {
      GraphFineTuner.recalibrate(r, images, pre, Pretrainer.RECALIBRATION_IMAGES);
    }
    return r;
  }

  /**
   * The cache's name for a model version's frozen part up to {@code boundary}: activations of any two retrains with the same key
   * are interchangeable. {@code sha256} may be null for a network that is not stored (the key then names it alone).
   */
  public static String backboneKey(String model, int version, String sha256, String boundary) {
    return FeatureCache.backboneKey(model, version, sha256, boundary);
  }

  /** Bytes of frozen activations held in memory. */
  public long cacheMemoryBytes() {
    return cache.memoryBytes();
  }

  /** Bytes of frozen activations in the cache's files. */
  public long cacheDiskBytes() {
    return cache.diskBytes();
  }
}
