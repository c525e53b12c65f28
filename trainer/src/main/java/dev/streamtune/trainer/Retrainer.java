package dev.streamtune.trainer;

import dev.streamtune.core.image.Preprocessor;
import dev.streamtune.core.model.ModelSpec;
import dev.streamtune.core.model.Network;
import dev.streamtune.trainer.internal.FeatureCache;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

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
  private final double distill;
  private final Augmentation augmentation;
  private final Interpolation interpolation;

  /**
   * A retrainer with its frozen-activation cache: {@code cacheMaxBytes} in memory, spilled to files under {@code cacheDir}
   * bounded by {@code cacheDiskMaxBytes} (least recently used deleted first). One process per cache directory.
   */
  public Retrainer(Path cacheDir, long cacheMaxBytes, long cacheDiskMaxBytes, int epochs, int batchSize, long seed) {
    this(cacheDir, cacheMaxBytes, cacheDiskMaxBytes, epochs, batchSize, seed, 0);
  }

  /**
   * {@link #Retrainer(Path, long, long, int, int, long)} with distillation toward the parent on replayed samples: their targets
   * mix the label with the champion's answer at weight {@code distill} in [0, 1) ({@link Targets#distilled}; 0: plain labels).
   */
  public Retrainer(Path cacheDir, long cacheMaxBytes, long cacheDiskMaxBytes, int epochs, int batchSize, long seed,
      double distill) {
    this(cacheDir, cacheMaxBytes, cacheDiskMaxBytes, epochs, batchSize, seed, distill, Augmentation.NONE);
  }

  /**
   * {@link #Retrainer(Path, long, long, int, int, long, double)} adding {@code augmentation}'s copies of the new-domain samples
   * to every fine-tune ({@link Augmentation#expand}).
   */
  public Retrainer(Path cacheDir, long cacheMaxBytes, long cacheDiskMaxBytes, int epochs, int batchSize, long seed,
      double distill, Augmentation augmentation) {
    this(new FeatureCache(cacheDir, cacheMaxBytes, cacheDiskMaxBytes), epochs, batchSize, seed, distill, augmentation,
        Interpolation.OFF);
  }

  private Retrainer(FeatureCache cache, int epochs, int batchSize, long seed, double distill, Augmentation augmentation,
      Interpolation interpolation) {
    this.augmentation = java.util.Objects.requireNonNull(augmentation, "augmentation");
    this.interpolation = java.util.Objects.requireNonNull(interpolation, "interpolation");
    this.cache = cache;
    if (epochs < 1 || batchSize < 1) {
      throw new IllegalArgumentException("epochs and batch size must be >= 1, were " + epochs + ", " + batchSize);
    }
    if (!(distill >= 0 && distill < 1)) {
      throw new IllegalArgumentException("distillation weight must be in [0, 1), was " + distill);
    }
    this.epochs = epochs;
    this.batchSize = batchSize;
    this.seed = seed;
    this.distill = distill;
  }

  /**
   * A retrainer of the same epochs, batch size and seed with another distillation weight and augmentation, sharing this one's
   * feature cache (so one retrain at a time across both).
   */
  public Retrainer with(double distill, Augmentation augmentation) {
    return new Retrainer(cache, epochs, batchSize, seed, distill, augmentation, interpolation);
  }

  /** This retrainer with every fine-tune's result moved back toward its parent as {@code interpolation} allows. */
  public Retrainer with(Interpolation interpolation) {
    return new Retrainer(cache, epochs, batchSize, seed, distill, augmentation, interpolation);
  }

  /** How far each fine-tune's result may move back toward its parent ({@link Interpolation}). */
  public Interpolation interpolation() {
    return interpolation;
  }

  /** The augmented copies each fine-tune adds to its new-domain samples. */
  public Augmentation augmentation() {
    return augmentation;
  }

  /** The parent's share in a replayed sample's target (0: none). */
  public double distill() {
    return distill;
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
   * @param replayFrom the index of the first replayed (earlier-domain) sample: samples {@code replayFrom..} follow the new-domain
   *     ones, and are distilled toward the champion's answers when {@link #distill()} is above 0
   * @param listener told of the cache lookup when the frozen part's activations are used
   * @throws CorruptFeatureCacheException when cached activations failed their checksum (deleted, recomputed next time)
   * @throws TrainingDivergedException when the loss or the weights become NaN or infinite
   */
  public FineTuner.Result retrain(Network champion, String backboneKey, Network toTrain, ModelSpec spec, FreezePlan plan,
      List<String> ids, List<float[]> images, int[] labels, int replayFrom, FeatureListener listener) {
    List<float[]> newImages = images.subList(0, replayFrom);
    Augmentation.Expanded x = augmentation.expand(ids, images, labels, replayFrom, spec.channels(), spec.height(), spec.width());
    ids = x.ids();
    images = x.images();
    labels = x.labels();
    replayFrom = x.replayFrom();
    Preprocessor pre = Preprocessor.of(spec);
    boolean graph = toTrain.type() == ModelSpec.NetworkType.GRAPH;
    Targets targets = targets(champion, toTrain, pre, images, labels, replayFrom);
    // a graph trains above its boundary on cached activations (TransferLearningHelper); a MultiLayerNetwork only when what it
    // trains is a dense top, where the cache pays (FineTuner#trainsConvolutions)
    if (plan.freezesNothing() || !graph && FineTuner.trainsConvolutions(toTrain.multiLayer(), plan.boundary())) {
      FineTuner.Result r = graph
          ? GraphFineTuner.fineTune(toTrain.graph(), plan, epochs, batchSize, images, targets, pre, seed)
          : FineTuner.fineTune(toTrain.multiLayer(), plan, epochs, batchSize, images, targets, spec.height(), seed);
      if (graph) {
        GraphFineTuner.recalibrate(r, images, pre, Pretrainer.RECALIBRATION_IMAGES);
      }
      return interpolate(champion, toTrain, r, pre, newImages, images);
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
            GraphFineTuner.activationShape(champion.graph(), plan.boundary(), spec.batchShape(1)), targets, seed)
        : FineTuner.fineTuneFromFeatures(toTrain.multiLayer(), plan, epochs, batchSize, features.features(), targets,
            spec.height(), seed);
    r = r.withCachedFeatureHits(features.hits());
    if (graph) {
      GraphFineTuner.recalibrate(r, images, pre, Pretrainer.RECALIBRATION_IMAGES);
    }
    return interpolate(champion, toTrain, r, pre, newImages, images);
  }

  /**
   * {@code r} moved back toward {@code toTrain} as {@link #interpolation} allows, judged on the new-domain images; as it is when
   * interpolation is off or {@code toTrain} is not the champion's own architecture (a grown head). A graph's mixes have their
   * trained batch-norm statistics re-estimated on the training images before they answer, as {@code r}'s were.
   */
  private FineTuner.Result interpolate(Network champion, Network toTrain, FineTuner.Result r, Preprocessor pre,
      List<float[]> newImages, List<float[]> images) {
    if (interpolation.off() || champion.numParams() != toTrain.numParams()) {
      return r;
    }
    java.util.function.Consumer<Network> settle = r.model().type() != ModelSpec.NetworkType.GRAPH ? n -> { }
        : n -> GraphFineTuner.recalibrate(n.graph(), r.freezeBoundary(), images, pre, Pretrainer.RECALIBRATION_IMAGES);
    return r.interpolated(interpolation.apply(toTrain, r.model(), pre, newImages, settle));
  }

  /** A retrain with pseudo-labels: the model, and what the selection took (null when none was attempted). */
  public record PseudoResult(FineTuner.Result result, PseudoLabels.Selection selection) {}

  /**
   * {@link #retrain} with {@link PseudoLabels}: unless {@code options} are off, there are fewer than
   * {@link PseudoLabels#MIN_LABELLED} labelled new-domain samples or no unlabelled input, a first fine-tune leaves out a
   * calibration share of the new-domain samples, chooses the share of each class's answers to keep on them and pseudo-labels the
   * most confident
   * {@code unlabelled} inputs (the new domain's served images that have no label), class-balanced and capped; the second
   * fine-tune, from {@code toTrain} again, trains on every labelled sample plus those, which count as new-domain samples (one-hot
   * targets, never distilled).
   */
  public PseudoResult retrainWithPseudoLabels(Network champion, String backboneKey, Network toTrain, ModelSpec spec,
      FreezePlan plan, List<String> ids, List<float[]> images, int[] labels, int replayFrom, List<String> unlabelledIds,
      List<float[]> unlabelled, PseudoLabels.Options options, FeatureListener listener) {
    int cap = options.cap(labels.length);
    if (options.off() || unlabelled.isEmpty() || replayFrom < PseudoLabels.MIN_LABELLED || cap == 0) {
      return new PseudoResult(retrain(champion, backboneKey, toTrain, spec, plan, ids, images, labels, replayFrom, listener),
          null);
    }
    if (unlabelledIds.size() != unlabelled.size()) {
      throw new IllegalArgumentException(unlabelledIds.size() + " unlabelled ids for " + unlabelled.size() + " images");
    }
    List<Integer> order = new ArrayList<>();
    for (int i = 0; i < replayFrom; i++) {
      order.add(i);
    }
    java.util.Collections.shuffle(order, new java.util.Random(seed ^ 0x5EEDL));
    int calibrationSize = (int) Math.ceil(options.calibration() * replayFrom);
    java.util.Set<Integer> calibration = new java.util.HashSet<>(order.subList(0, calibrationSize));
    List<String> firstIds = new ArrayList<>();
    List<float[]> firstImages = new ArrayList<>();
    List<Integer> firstLabels = new ArrayList<>();
    List<float[]> calImages = new ArrayList<>();
    int[] calLabels = new int[calibrationSize];
    for (int i = 0; i < labels.length; i++) {
      if (calibration.contains(i)) {
        calLabels[calImages.size()] = labels[i];
        calImages.add(images.get(i));
      } else {
        firstIds.add(ids.get(i));
        firstImages.add(images.get(i));
        firstLabels.add(labels[i]);
      }
    }
    FineTuner.Result first = retrain(champion, backboneKey, toTrain, spec, plan, firstIds, firstImages,
        firstLabels.stream().mapToInt(Integer::intValue).toArray(), replayFrom - calibrationSize, listener);
    Preprocessor pre = Preprocessor.of(spec);
    float[][] cal = probabilities(first.model(), pre, calImages);
    double[] confidence = new double[cal.length];
    int[] predicted = new int[cal.length];
    boolean[] right = new boolean[cal.length];
    for (int i = 0; i < cal.length; i++) {
      predicted[i] = PseudoLabels.argMax(cal[i]);
      confidence[i] = cal[i][predicted[i]];
      right[i] = predicted[i] == calLabels[i];
    }
    double keep = PseudoLabels.keepShare(confidence, predicted, right, options.precision());
    int classes = cal.length == 0 ? 0 : cal[0].length;
    int[] counts = new int[classes];
    for (int i = 0; i < replayFrom; i++) {
      if (labels[i] >= 0 && labels[i] < classes) {
        counts[labels[i]]++;
      }
    }
    PseudoLabels.Selection sel = Double.isNaN(keep)
        ? new PseudoLabels.Selection(new int[0], new int[0], keep, Double.NaN, calibrationSize, unlabelled.size(), 0,
            new int[classes])
        : PseudoLabels.select(probabilities(first.model(), pre, unlabelled), keep, counts, cap,
            PseudoLabels.precisionKept(confidence, predicted, right, keep), calibrationSize);
    List<String> allIds = new ArrayList<>(ids.subList(0, replayFrom));
    List<float[]> allImages = new ArrayList<>(images.subList(0, replayFrom));
    int[] allLabels = new int[labels.length + sel.count()];
    System.arraycopy(labels, 0, allLabels, 0, replayFrom);
    for (int k = 0; k < sel.count(); k++) {
      allIds.add(unlabelledIds.get(sel.indices()[k]));
      allImages.add(unlabelled.get(sel.indices()[k]));
      allLabels[replayFrom + k] = sel.labels()[k];
    }
    allIds.addAll(ids.subList(replayFrom, ids.size()));
    allImages.addAll(images.subList(replayFrom, images.size()));
    System.arraycopy(labels, replayFrom, allLabels, replayFrom + sel.count(), labels.length - replayFrom);
    FineTuner.Result second = retrain(champion, backboneKey, toTrain, spec, plan, allIds, allImages, allLabels,
        replayFrom + sel.count(), listener);
    return new PseudoResult(second, sel);
  }

  private static float[][] probabilities(Network net, Preprocessor pre, List<float[]> images) {
    float[][] out = new float[images.size()][];
    for (int from = 0; from < images.size(); from += 256) {
      INDArray p = net.output(pre.batch(images.subList(from, Math.min(images.size(), from + 256))));
      for (int i = 0; i < p.rows(); i++) {
        out[from + i] = p.getRow(i).dup().toFloatVector();
      }
    }
    return out;
  }


  /** One-hot targets, or with {@link #distill} the replayed samples' labels mixed with the champion's answers on them. */
  private Targets targets(Network champion, Network toTrain, Preprocessor pre, List<float[]> images, int[] labels,
      int replayFrom) {
    if (replayFrom < 0 || replayFrom > labels.length) {
      throw new IllegalArgumentException("replayFrom " + replayFrom + " outside 0.." + labels.length);
    }
    int classes = toTrain.type() == ModelSpec.NetworkType.GRAPH ? GraphFineTuner.classes(toTrain.graph())
        : FineTuner.classes(toTrain.multiLayer());
    if (distill == 0 || replayFrom == labels.length) {
      return Targets.oneHot(labels, classes);
    }
    List<INDArray> parts = new ArrayList<>();
    for (int from = replayFrom; from < images.size(); from += 256) {
      parts.add(champion.output(pre.batch(images.subList(from, Math.min(images.size(), from + 256)))));
    }
    return Targets.distilled(labels, classes, Nd4j.vstack(parts.toArray(INDArray[]::new)), replayFrom, distill);
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
